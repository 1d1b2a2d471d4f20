"""``attnbench merge PART.json... --out RUN.json``: join the parts of one suite.

Parts are the files of ``run --shard K/N`` jobs (a CI matrix) or of torchrun ranks. Refused,
with exit 2 and the files named: parts of different suites, of different result schema
versions, or with a case in common; an ``--out`` that exists and is not an attnbench result
file (a directory, another file), or that is one of the parts. An existing result file at
``--out`` is kept aside as ``<out>.prev``, as ``run`` does.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from attnbench.cli._common import err_console
from attnbench.errors import AttnbenchError, InputError
from attnbench.results.merge import load_part, merge_runs
from attnbench.results.store import load_results, save_results


def check_out(out: Path, parts: list[Path]) -> None:
    """Refuse an ``--out`` that merging would clobber and that is not a result file.

    Raises:
        InputError: ``out`` is a directory, a non-regular file, a file that is not an
            attnbench result, or one of the inputs.
    """
    resolved = out.resolve()
    if any(p.resolve() == resolved for p in parts):
        raise InputError(f"--out {out} is also one of the parts; write the merge elsewhere")
    if not os.path.lexists(out):
        return
    if out.is_dir():
        raise InputError(f"--out {out} is a directory; give a file path")
    if out.is_symlink() or not out.is_file():
        raise InputError(f"--out {out} exists and is not a regular file; not touching it")
    try:
        load_results(out, journal=False)
    except AttnbenchError:
        raise InputError(
            f"--out {out} exists and is not an attnbench result file; not overwriting it"
        ) from None


def merge_command(
    parts: list[Path] = typer.Argument(
        ..., metavar="PART.json...", help="Result files of one suite's shards or ranks.",
        show_default=False,
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Merged result file.",
                             show_default=False),
) -> None:
    """Join shards of one suite (CI matrix jobs, torchrun ranks) into one result file."""
    check_out(out, parts)
    merged = merge_runs([load_part(p) for p in parts])
    console = err_console()
    if out.exists():
        prev = out.with_name(out.name + ".prev")
        os.replace(out, prev)
        console.print(f"note: {out} existed; kept it as {prev}", highlight=False)
    save_results(merged, out)
    lost = merged.run.get("lost_cases", [])
    note = f"; {len(lost)} case(s) listed as lost" if lost else ""
    console.print(
        f"merged {len(parts)} part(s): {len(merged.cases)} cases → {out}{note}", highlight=False
    )
