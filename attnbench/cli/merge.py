"""``attnbench merge PART.json... --out RUN.json``: join the parts of one suite.

Parts are the files of ``run --shard K/N`` jobs (a CI matrix) or of torchrun ranks. Refused,
with exit 2 and the files named: parts of different suites, of different result schema
versions, or with a case in common; an ``--out`` that ``run`` would refuse too (a directory,
a link, a file that is not an attnbench result, one of the parts). An existing result file at
``--out`` is moved to its next free generation (``<out>.N.prev``), as ``run`` does.
"""

from __future__ import annotations

from pathlib import Path

import typer

from attnbench.cli._common import err_console
from attnbench.results.merge import load_part, merge_runs
from attnbench.results.outpath import check_out_path, keep_previous, out_lock
from attnbench.results.store import save_results


def merge_command(
    parts: list[Path] = typer.Argument(
        ..., metavar="PART.json...", help="Result files of one suite's shards or ranks.",
        show_default=False,
    ),
    out: Path = typer.Option(..., "--out", "-o", metavar="PATH", help="Merged result file.",
                             show_default=False),
) -> None:
    """Join shards of one suite (CI matrix jobs, torchrun ranks) into one result file."""
    check_out_path(out, parts)
    merged = merge_runs([load_part(p) for p in parts])
    console = err_console()
    with out_lock(out):
        prev = keep_previous(out)
        if prev is not None:
            console.print(f"note: {out} existed; kept it as {prev}", highlight=False)
        save_results(merged, out)
    lost = merged.run.get("lost_cases", [])
    note = f"; {len(lost)} case(s) listed as lost" if lost else ""
    console.print(
        f"merged {len(parts)} part(s): {len(merged.cases)} cases → {out}{note}", highlight=False
    )
