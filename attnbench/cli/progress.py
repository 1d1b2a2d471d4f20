"""Live progress for ``attnbench run``: a rich bar with ETA on stderr, a line per case."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from attnbench.case import Case
from attnbench.results.schema import CaseResult

_STYLE = {"ok": "green", "skipped": "yellow", "oom": "magenta", "failed": "red"}


def _fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 1:
        return f"{ms * 1e3:.3g} µs"
    if ms < 1000:
        return f"{ms:.3g} ms"
    return f"{ms / 1e3:.3g} s"


class RichProgress:
    """Implements the runner's Progress protocol with a rich progress bar."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=quiet,
        )
        self._task = self._progress.add_task("starting", total=None)

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def started(self, total: int, skipped_done: int) -> None:
        self._progress.update(self._task, total=total, completed=skipped_done)
        if skipped_done and not self.quiet:
            self.console.print(
                f"resuming: {skipped_done} of {total} cases already done", markup=False
            )

    def case_started(self, case: Case) -> None:
        self._progress.update(self._task, description=case.case_id)

    def case_finished(self, result: CaseResult) -> None:
        self._progress.advance(self._task)
        if self.quiet:
            return
        tty = self.console.is_terminal
        if tty:  # one line, cut to the width
            self.console.print(case_line(result, whole=False), highlight=False, crop=True,
                               no_wrap=True, overflow="ellipsis")
        else:  # whole, never wrapped: logs keep it grep-able
            self.console.print(case_line(result, whole=True), highlight=False, soft_wrap=True)


def case_line(result: CaseResult, whole: bool) -> Text:
    """``status case_id  median`` for an ok case, ``status case_id  reason`` otherwise.

    Plain text (ids and torch's reasons keep their square brackets). ``whole`` keeps every
    line of the reason; otherwise only its first line (a terminal cuts it to the width).
    """
    median = result.metric("time/median_ms")
    if result.status == "ok":
        detail = _fmt_ms(median)
    else:
        reason = result.reason.strip()
        detail = reason if whole else (reason.splitlines() or [""])[0]
    line = Text(f"{result.status:>7}", style=_STYLE.get(result.status, ""))
    line.append(f" {result.case_id}  {detail}")
    return line
