"""One exception hierarchy for attnbench; every error carries its CLI exit code.

Exit codes (documented in README and ``attnbench --help``):

* 0 success
* 1 the gate found a confirmed regression (or ``check`` found a mismatch)
* 2 bad input: suite file, arguments, result file
* 3 the requested environment is not available (no CUDA, no NVML when required), or
  ``gate`` cannot compare two runs at all
* 4 the run finished but some cases failed unexpectedly
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_CASES_FAILED = 4


class AttnbenchError(Exception):
    """Base class. ``str(err)`` is a complete, actionable message for a user."""

    exit_code: int = EXIT_BAD_INPUT


class InputError(AttnbenchError):
    """Bad input from the user: a suite, an argument, a result file (exit 2)."""

    exit_code = EXIT_BAD_INPUT


class SuiteError(InputError):
    """A mistake in a suite file, located by file, line and column when known."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        """Return ``file:line:col: message`` plus the hint on its own line."""
        where = self.path or "<suite>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UnknownVariantError(InputError, KeyError):
    """A variant name that is not registered; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class ResultFileError(InputError):
    """A result JSON that cannot be read, is malformed or is newer than this attnbench."""


class EnvironmentUnavailable(AttnbenchError):
    """The requested device or tool is not available here (exit 3)."""

    exit_code = EXIT_ENVIRONMENT


class NotComparableError(AttnbenchError):
    """``gate`` cannot compare two runs at all: different device models, no common case (exit 3)."""

    exit_code = EXIT_ENVIRONMENT


class UnsupportedCase(AttnbenchError):
    """A variant cannot run a case (shape, dtype, backend); recorded as ``skipped``."""


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """Return the closest of ``choices`` to ``word`` or None when nothing is close."""
    import difflib

    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return match[0] if match else None
