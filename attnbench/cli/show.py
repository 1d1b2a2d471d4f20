"""``attnbench show RUN.json``: render a stored run as a table, Markdown, CSV or JSON.

Data goes to stdout. A missing, malformed or newer result file raises
:class:`~attnbench.errors.ResultFileError`, which the app turns into exit code 2.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer

from attnbench.cli._common import out_console
from attnbench.errors import InputError
from attnbench.report import ratio_table, render_run, to_csv, to_markdown
from attnbench.report.baseline import Baseline, resolve_baseline
from attnbench.report.markdown import ratio_markdown
from attnbench.results.schema import RunResult
from attnbench.results.store import dumps, load_results


class ShowFormat(str, Enum):
    """Output formats of ``attnbench show``."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def _print_table(run: RunResult, baseline: Baseline | None, source: str) -> None:
    console = out_console()
    render_run(run, console, source=source)
    if baseline is not None:
        console.print()
        console.print(ratio_table(run, baseline))


def _baseline(run: RunResult, spec: str, output_format: ShowFormat) -> Baseline:
    if output_format not in (ShowFormat.table, ShowFormat.markdown):
        raise InputError("--ratio-to works with --format table or markdown")
    return resolve_baseline(run, spec)


def render(
    run: RunResult, output_format: ShowFormat, baseline: Baseline | None = None
) -> str | None:
    """The text of ``run`` in ``output_format``; None for ``table`` (printed by rich)."""
    if output_format is ShowFormat.markdown:
        text = to_markdown(run)
        return text if baseline is None else text + "\n" + ratio_markdown(run, baseline)
    if output_format is ShowFormat.csv:
        return to_csv(run)
    if output_format is ShowFormat.json:
        return dumps(run)
    return None


def show_command(
    path: Path = typer.Argument(
        ...,
        metavar="RUN.json",
        help="Result file written by `attnbench run`.",
        show_default=False,
    ),
    output_format: ShowFormat = typer.Option(
        ShowFormat.table,
        "--format",
        "-f",
        metavar="FORMAT",
        help="table (rich, for a terminal), markdown (PR comment), csv (flat, raw numbers) "
        "or json (the stored file, migrated to the current schema).",
        case_sensitive=False,
    ),
    ratio_to: str | None = typer.Option(
        None,
        "--ratio-to",
        metavar="VARIANT",
        help="Also print each case's time as a multiple of VARIANT at the same shape "
        "(table or markdown), e.g. --ratio-to softmax.sdpa: the paired ratio with its 95% "
        "interval where the run measured the case in one group with VARIANT as baseline, else "
        "the ratio of medians, labelled unpaired, with no interval. A family name means its "
        "default implementation; pin a swept parameter with VARIANT[KEY=VALUE], e.g. "
        "--ratio-to 'sinkhorn.naive[iters=5]'.",
    ),
) -> None:
    """Render a stored run (RUN.json) as a table, Markdown, CSV or JSON."""
    run = load_results(path)
    baseline = _baseline(run, ratio_to, output_format) if ratio_to is not None else None
    text = render(run, output_format, baseline)
    if text is None:
        _print_table(run, baseline, str(path))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
