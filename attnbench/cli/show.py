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
from attnbench.errors import InputError, did_you_mean
from attnbench.report import ratio_table, render_run, to_csv, to_markdown
from attnbench.results.schema import RunResult
from attnbench.results.store import dumps, load_results


class ShowFormat(str, Enum):
    """Output formats of ``attnbench show``."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def _print_table(run: RunResult, ratio_to: str | None) -> None:
    console = out_console()
    render_run(run, console)
    if ratio_to is not None:
        console.print()
        console.print(ratio_table(run, ratio_to))


def _check_ratio_to(run: RunResult, variant: str, output_format: ShowFormat) -> None:
    if output_format is not ShowFormat.table:
        raise InputError("--ratio-to works with --format table")
    present = sorted({c.variant for c in run.cases})
    if variant not in present:
        guess = did_you_mean(variant, present)
        hint = f" Did you mean {guess!r}?" if guess else ""
        raise InputError(
            f"--ratio-to {variant!r}: no such variant in this run.{hint} "
            f"It has: {', '.join(present)}"
        )


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
        metavar="FORMAT",
        help="table (rich, for a terminal), markdown (PR comment), csv (flat, raw numbers) "
        "or json (the stored file, migrated to the current schema).",
        case_sensitive=False,
    ),
    ratio_to: str | None = typer.Option(
        None,
        "--ratio-to",
        metavar="VARIANT",
        help="Also print each case's median time as a multiple of VARIANT at the same shape "
        "(table format), e.g. --ratio-to softmax.sdpa.",
    ),
) -> None:
    """Render a stored run (RUN.json) as a table, Markdown, CSV or JSON."""
    run = load_results(path)
    if ratio_to is not None:
        _check_ratio_to(run, ratio_to, output_format)
    text = render(run, output_format)
    if text is None:
        _print_table(run, ratio_to)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
