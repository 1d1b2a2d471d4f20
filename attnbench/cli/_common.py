"""Helpers shared by the command modules: consoles, error reporting, output formats."""

from __future__ import annotations

import click
from rich.console import Console

from attnbench.errors import EXIT_BAD_INPUT, AttnbenchError

_err: Console | None = None


def err_console() -> Console:
    """Console on stderr for diagnostics and progress (stdout carries data only)."""
    global _err
    if _err is None:
        _err = Console(stderr=True, highlight=False)
    return _err


def out_console(width: int | None = None) -> Console:
    """Console on stdout for tables and data."""
    return Console(width=width, highlight=False, soft_wrap=False)


def handled_errors() -> tuple[type[BaseException], ...]:
    return (AttnbenchError, click.ClickException, click.exceptions.Exit, click.Abort)


def report_error(exc: BaseException) -> int:
    """Print ``exc`` to stderr the way a user should see it and return its exit code."""
    if isinstance(exc, click.exceptions.Exit):
        return int(exc.exit_code)
    if isinstance(exc, click.Abort):
        err_console().print("aborted", style="yellow")
        return 130
    if isinstance(exc, click.ClickException):
        exc.show()
        return int(exc.exit_code) if exc.exit_code else EXIT_BAD_INPUT
    assert isinstance(exc, AttnbenchError)
    err_console().print(f"error: {exc}", style="red", markup=False)
    return exc.exit_code
