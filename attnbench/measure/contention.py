"""CPU contention seen from inside the process: was this process's time stolen while it sampled?

On a shared CPU, other runnable processes take cores away from torch's thread pool. The
kernel then preempts our threads (an *involuntary* context switch) and parallel regions wait
whole scheduler slices at their barriers, so samples grow by milliseconds while their spread
can stay small. The load average sees this late (a 1-minute mean) and lingers after the load
is gone, so the judgement here uses only what the process itself consumed during the window:

* ``host/invol_ctx_switches``: involuntary context switches of all this process's threads
  (``getrusage(RUSAGE_SELF).ru_nivcsw``) during the window;
* ``host/invol_ctx_switches_per_cpu_s``: the same per second of CPU time the process got;
* ``host/cpu_utilisation``: process CPU time (user + system, all threads) over
  ``threads × wall time``, a fraction: 1.0 means every torch thread ran the whole window.

The rule (:func:`is_contended`): ``CPU_CONTENDED`` when the window saw at least
:data:`MIN_SWITCHES` involuntary switches *and* they came at :data:`SWITCHES_PER_CPU_S` or
more per second of CPU time. A compute-bound thread alone on its core is preempted a few
times per CPU-second (kernel work); one that shares its core is preempted at the end of
nearly every scheduler slice of a few milliseconds, 150 to 300 times per CPU-second on the
development machine. Counting per CPU-second rather than per wall-second keeps the signal
when contention is heavy: with many competitors each of our slices is followed by a longer
wait, which lowers the wall-clock rate but not the rate per slice we got. The utilisation is
stored as evidence but not judged on: a small kernel leaves torch's extra threads idle, which
lowers it on a quiet machine too.

:class:`ContentionWindow` is a context manager (or a :meth:`~ContentionWindow.start` /
:meth:`~ContentionWindow.stop` pair) around the timed region; it never prints.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from types import TracebackType

import torch

CPU_CONTENDED = "CPU_CONTENDED"
"""Warning code: other processes took CPU time from this process while it was sampled."""

MIN_SWITCHES = 10
"""Fewest involuntary switches in a window that can count as contention (short windows)."""

SWITCHES_PER_CPU_S = 50.0
"""Involuntary switches per CPU-second at or above which a window is contended."""


@dataclass(frozen=True)
class Usage:
    """One reading of the process's clocks.

    Attributes:
        wall_s: ``perf_counter`` seconds.
        cpu_s: user + system CPU seconds of every thread of the process.
        invol_switches: involuntary context switches so far (all threads).
        vol_switches: voluntary context switches so far (waits, sleeps).
    """

    wall_s: float
    cpu_s: float
    invol_switches: int
    vol_switches: int


def read_usage() -> Usage:
    """The process's wall clock, CPU time and context-switch counters now."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return Usage(time.perf_counter(), ru.ru_utime + ru.ru_stime, ru.ru_nivcsw, ru.ru_nvcsw)


@dataclass(frozen=True)
class ContentionReport:
    """What one window saw, and the verdict.

    Attributes:
        wall_s: window length, seconds.
        cpu_s: process CPU time in the window, seconds.
        threads: torch intra-op threads during the window.
        invol_switches: involuntary context switches in the window.
        vol_switches: voluntary context switches in the window.
    """

    wall_s: float
    cpu_s: float
    threads: int
    invol_switches: int
    vol_switches: int

    @property
    def switches_per_cpu_s(self) -> float:
        """Involuntary switches per second of process CPU time (0 when none was used)."""
        return self.invol_switches / self.cpu_s if self.cpu_s > 0 else 0.0

    @property
    def utilisation(self) -> float:
        """CPU time over threads × wall time, a fraction (0 for an empty window)."""
        capacity = max(self.threads, 1) * self.wall_s
        return self.cpu_s / capacity if capacity > 0 else 0.0

    @property
    def contended(self) -> bool:
        """The module's rule applied to this window."""
        return is_contended(self.invol_switches, self.cpu_s)

    def metrics(self) -> dict[str, float]:
        """The evidence as catalog metrics (``host/...``)."""
        return {
            "host/invol_ctx_switches": float(self.invol_switches),
            "host/invol_ctx_switches_per_cpu_s": self.switches_per_cpu_s,
            "host/cpu_utilisation": self.utilisation,
            "host/threads": float(self.threads),
        }


def is_contended(invol_switches: int, cpu_s: float) -> bool:
    """True when ``invol_switches`` while the process used ``cpu_s`` CPU-seconds show that
    other processes took its cores.

    Both must hold: at least :data:`MIN_SWITCHES` switches, and at least
    :data:`SWITCHES_PER_CPU_S` of them per CPU-second.
    """
    if invol_switches < MIN_SWITCHES or cpu_s <= 0:
        return False
    return invol_switches / cpu_s >= SWITCHES_PER_CPU_S


def between(before: Usage, after: Usage, threads: int) -> ContentionReport:
    """The report for the window from ``before`` to ``after`` with ``threads`` torch threads."""
    return ContentionReport(
        wall_s=after.wall_s - before.wall_s,
        cpu_s=after.cpu_s - before.cpu_s,
        threads=threads,
        invol_switches=after.invol_switches - before.invol_switches,
        vol_switches=after.vol_switches - before.vol_switches,
    )


class ContentionWindow:
    """Watch the process's CPU use over a region: ``with ContentionWindow() as w: ...``.

    After the block (or :meth:`stop`), :attr:`report` holds the window's evidence. The reads
    are two ``getrusage`` calls (a few microseconds) at the edges, none inside the region.
    """

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads if threads is not None else torch.get_num_threads()
        self._before: Usage | None = None
        self.report: ContentionReport | None = None

    def start(self) -> None:
        """Open the window."""
        self._before = read_usage()

    def stop(self) -> ContentionReport:
        """Close the window and return (and keep) its report."""
        after = read_usage()
        if self._before is None:
            raise RuntimeError("ContentionWindow.stop() called before start()")
        self.report = between(self._before, after, self.threads)
        return self.report

    def __enter__(self) -> ContentionWindow:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
