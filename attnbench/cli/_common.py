"""Helpers shared by the command modules: consoles and error reporting."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console
from typer.exceptions import TyperException

from attnbench.errors import EXIT_BAD_INPUT, AttnbenchError

_err: Console | None = None


def err_console() -> Console:
    """Console on stderr for diagnostics and progress (stdout carries data only)."""
    global _err
    if _err is None:
        _err = Console(stderr=True, highlight=False, soft_wrap=True)
    return _err


PIPED_WIDTH = 120
"""Table width when stdout is not a terminal and COLUMNS is unset (rich would use 80)."""


def out_console(width: int | None = None) -> Console:
    """Console on stdout for tables and data; plain lines never wrap."""
    if width is None and not sys.stdout.isatty() and "COLUMNS" not in os.environ:
        width = PIPED_WIDTH
    return Console(width=width, highlight=False, soft_wrap=True)


def handled_errors() -> tuple[type[BaseException], ...]:
    """Exceptions ``main`` turns into a message and an exit code instead of a traceback."""
    return (AttnbenchError, TyperException, typer.Exit, typer.Abort)


def report_error(exc: BaseException) -> int:
    """Print ``exc`` to stderr the way a user should see it and return its exit code."""
    if isinstance(exc, typer.Exit):
        return int(exc.exit_code)
    if isinstance(exc, typer.Abort):
        err_console().print("aborted", style="yellow")
        return 130
    if isinstance(exc, AttnbenchError):
        err_console().print(f"error: {exc}", style="red", markup=False)
        return exc.exit_code
    show = getattr(exc, "show", None)
    if callable(show):
        show()
    else:
        err_console().print(f"error: {exc}", style="red", markup=False)
    code = getattr(exc, "exit_code", EXIT_BAD_INPUT)
    return int(code) if code else EXIT_BAD_INPUT
