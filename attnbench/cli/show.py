"""``attnbench show RUN.json``: render a stored run as a table, Markdown, CSV or JSON.

Data goes to stdout. A missing, malformed or newer result file raises
:class:`~attnbench.errors.ResultFileError`, which the app turns into exit code 2.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path

import typer

from attnbench.cli._common import out_console
from attnbench.report import render_run, to_csv, to_markdown
from attnbench.results.schema import RunResult
from attnbench.results.store import dumps, load_results

PIPE_WIDTH = 120
"""Console width used when stdout is not a terminal and ``COLUMNS`` is not set."""


class ShowFormat(str, Enum):
    """Output formats of ``attnbench show``."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def _print_table(run: RunResult) -> None:
    console = out_console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = out_console(width=PIPE_WIDTH)
    render_run(run, console)


def render(run: RunResult, output_format: ShowFormat) -> str | None:
    """The text of ``run`` in ``output_format``; None for ``table`` (printed by rich)."""
    if output_format is ShowFormat.markdown:
        return to_markdown(run)
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
        help="table (rich, for a terminal), markdown (PR comment), csv (flat, raw numbers) "
        "or json (the stored file, migrated to the current schema).",
        case_sensitive=False,
    ),
) -> None:
    """Render a stored run (RUN.json) as a table, Markdown, CSV or JSON."""
    run = load_results(path)
    text = render(run, output_format)
    if text is None:
        _print_table(run)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
