"""``attnbench compare RUN.json RUN.json ...``: runs side by side, ratios to the first."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path

import typer

from attnbench.cli._common import out_console
from attnbench.compare.inputs import read_run
from attnbench.compare.runs import compare_runs
from attnbench.errors import InputError
from attnbench.report.compare_render import compare_csv, compare_markdown, render_compare


class CompareFormat(str, Enum):
    """Output formats of ``attnbench compare``."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def compare_command(
    paths: list[Path] = typer.Argument(
        ...,
        metavar="RUN.json RUN.json...",
        show_default=False,
        help="Two or more result files (shards or merged).",
    ),
    label: list[str] = typer.Option(
        [],
        "--label",
        metavar="TEXT",
        help="Column label per run, in order [default: GPU name, else git commit, else file].",
    ),
    output_format: CompareFormat = typer.Option(
        CompareFormat.table,
        "--format",
        "-f",
        case_sensitive=False,
        help="table (terminal), markdown (PR comment), csv (one row per case and run), json.",
    ),
) -> None:
    """Compare two or more runs side by side (GPUs, commits): per case median time,
    TFLOP/s, % of peak, memory and energy per run, the ratio to the first run with its 95%
    bootstrap interval, and a geometric mean per variant over the cases every run shares.

    Exit codes: 0 shown; 2 bad input (fewer than two files, an unreadable, truncated or
    newer result file).
    """
    if len(paths) < 2:
        raise InputError("compare needs at least two result files")
    if len(label) > len(paths):
        raise InputError(f"--label given {len(label)} times for {len(paths)} runs")
    runs = [read_run(p) for p in paths]
    comp = compare_runs(runs, paths, label)
    if output_format is CompareFormat.table:
        render_compare(comp, out_console())
        return
    if output_format is CompareFormat.markdown:
        text = compare_markdown(comp)
    elif output_format is CompareFormat.csv:
        text = compare_csv(comp)
    else:
        text = json.dumps(comp.to_dict(), indent=1, allow_nan=False) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()
