"""The ``attnbench`` command line (Typer). One module per command, imported when it runs
(:mod:`attnbench.cli.commands`); nothing imports ``cli``.

Exit codes: 0 success · 1 gate regression / check mismatch · 2 bad input · 3 environment not
available · 4 some cases failed unexpectedly · 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import sys

import typer

from attnbench.cli import _common
from attnbench.cli.commands import LazyGroup

app = typer.Typer(
    name="attnbench",
    cls=LazyGroup,
    help=(
        "Benchmark and profile attention kernels: time, memory, energy and numerical error.\n\n"
        "Exit codes: 0 success; 1 confirmed regression (gate) or mismatch (check); "
        "2 bad input (suite, arguments, result file, policy); 3 requested environment "
        "unavailable (no CUDA, no NVML when required) or gate cannot compare the runs; "
        "4 run finished but some cases failed; 130 interrupted (Ctrl-C)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        import attnbench

        typer.echo(f"attnbench {attnbench.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the attnbench version and exit.",
    ),
) -> None:
    """Benchmark and profile attention kernels."""


def main() -> None:
    """Console-script entry point: run the app, turning attnbench errors into exit codes."""
    try:
        code = app(standalone_mode=False)
    except _common.handled_errors() as exc:
        sys.exit(_common.report_error(exc))
    except SystemExit:
        raise
    except KeyboardInterrupt:
        _common.err_console().print("interrupted", style="yellow")
        sys.exit(130)
    # Without standalone mode, typer returns the code of a typer.Exit instead of exiting.
    sys.exit(code if isinstance(code, int) else 0)
