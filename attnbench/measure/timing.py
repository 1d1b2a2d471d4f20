"""Sampling: warm-up until stable, calibrated blocks, nvbench-style stopping, one step at a time.

:class:`Sampler` is the one sampling algorithm. A single case runs it to the end with
:func:`measure`; a comparison group (``measure/group.py``) holds one sampler per member and
calls :meth:`Sampler.take_sample` on each in rotation. All durations come from the device's
:class:`BlockTimer`, so a scripted timer in tests drives it exactly.

1. **Warm-up until stable** (:meth:`Sampler.warm_up`): call the kernel one call at a time,
   untimed for the result, for at least ``warmup_ms`` of host time (at least one call). Then
   keep going while per-call times are still falling: with ``k = WARMUP_WINDOW`` calls, the
   warm-up ends once it holds ``2k`` calls and the median of the last ``k`` is no longer below
   the median of the ``k`` before them by more than ``WARMUP_TOLERANCE`` (5%). It also ends at
   ``warmup_max_ms`` of host time; there the trend (last-window median / previous-window
   median) is judged on windows of ``min(k, calls // 2)`` calls, and one still falling by
   more than 5% records ``WARMUP_UNSTABLE`` with the trend (``time/warmup_trend``). A single
   call that fills the whole cap leaves nothing to compare and is not flagged.
2. **Block size** (:meth:`Sampler.calibrate`): measure the timer's own overhead with an empty
   block, then batch ``number`` calls per sample so the overhead is under 1% of a sample
   (``number = ceil(overhead / (0.01 * per_call))``, per_call = the median of the last
   warm-up calls). Cold-cache GPU timing forces ``number = 1`` because the L2 flush must
   precede every call.
3. **Sampling** (:meth:`Sampler.take_sample`, :meth:`Sampler.should_stop`): per-call time =
   block time / number. The rule, checked after every sample:

   * ``max_samples`` samples: stop (``max_samples``). The only cap that can cut below
     ``min_samples`` (the loader refuses ``max_samples < min_samples``; code that builds
     settings directly may not), and then the case is flagged ``FEW_SAMPLES``.
   * fewer than ``min_samples``: go on. **``min_samples`` is a floor no time cap cuts
     below**: a case whose calls are slower than ``max_time_s / min_samples`` overruns
     ``max_time_s`` rather than report a median and a spread from one or two samples.
   * ``max_time_s`` of measured time reached: stop (``max_time``).
   * under ``min_time_ms`` of measured time (the loader requires it to be below
     ``max_time_s``): go on.
   * relative IQR at or below ``target_rel_iqr``: stop (``converged``).
   * the noise estimate has stopped improving: the least-squares slope of the relative IQR
     over the last ``plateau_window`` eligible samples changes it by under 10% across the
     window (``noise_plateau``).

The trade-off: a tighter target costs more samples; the plateau rule stops early on a machine
whose noise will not shrink, instead of spinning until the timeout.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from attnbench.devices.base import BlockTimer
from attnbench.metrics.stats import Summary, median, rel_iqr_sorted, slope, summarize
from attnbench.suite.schema import TimingSettings

STOP_CONVERGED = "converged"
STOP_PLATEAU = "noise_plateau"
STOP_MAX_TIME = "max_time"
STOP_MAX_SAMPLES = "max_samples"
OVERHEAD_TARGET = 0.01
WARMUP_WINDOW = 5
"""k: warm-up calls per window of the stability rule."""
WARMUP_TOLERANCE = 0.05
"""Warm-up goes on while the last window's median is more than this fraction below the one
before it."""
WARMUP_UNSTABLE = "WARMUP_UNSTABLE"
FEW_SAMPLES = "FEW_SAMPLES"


@dataclass(frozen=True)
class WarmupResult:
    """How warm-up went: calls, host time spent (ms), per-call estimate (ms), stability.

    ``trend`` is the median of the last :data:`WARMUP_WINDOW` calls over the median of the
    window before (below 1: still getting faster); None when fewer than two windows ran.
    """

    calls: int
    spent_ms: float
    per_call_ms: float
    stable: bool
    trend: float | None


@dataclass
class TimingResult:
    """Raw per-call samples (ms) and how sampling went."""

    samples_ms: list[float]
    host_samples_ms: list[float]
    number: int
    stop_reason: str
    warmup_calls: int
    warmup_ms: float
    overhead_ms: float
    summary: Summary
    rel_iqr_history: list[float] = field(default_factory=list)
    warmup_stable: bool = True
    warmup_trend: float | None = None
    warnings: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        out = self.summary.as_metrics()
        out["time/calls_per_sample"] = float(self.number)
        out["time/warmup_ms"] = self.warmup_ms
        out["time/warmup_calls"] = float(self.warmup_calls)
        if self.warmup_trend is not None:
            out["time/warmup_trend"] = self.warmup_trend
        host_sorted = sorted(self.host_samples_ms)
        out["time/host_median_ms"] = host_sorted[len(host_sorted) // 2]
        return out


def _noop() -> None:
    return None


def warmup_trend(calls_ms: list[float], k: int = WARMUP_WINDOW) -> float | None:
    """median(last k) / median(previous k) of per-call times; None with fewer than 2k (or k 0)."""
    if k < 1 or len(calls_ms) < 2 * k:
        return None
    before = median(calls_ms[-2 * k : -k])
    if before <= 0:
        return None
    return median(calls_ms[-k:]) / before


def is_warm(calls_ms: list[float], k: int = WARMUP_WINDOW, tol: float = WARMUP_TOLERANCE) -> bool:
    """True once per-call times stopped falling: last-k median >= (1 - tol) x previous-k."""
    trend = warmup_trend(calls_ms, k)
    return trend is not None and trend >= 1.0 - tol


def block_size(per_call_ms: float, overhead_ms: float, fixed: bool) -> int:
    """Calls per sample so the timer overhead stays under 1% of a sample."""
    if fixed or per_call_ms <= 0:
        return 1 if fixed or overhead_ms <= 0 else 1000
    return max(1, math.ceil(overhead_ms / (OVERHEAD_TARGET * per_call_ms)))


def timer_overhead_ms(timer: BlockTimer, repeats: int = 5) -> float:
    """Host cost of timing an empty block, ms: the minimum of ``repeats`` tries."""
    return min(timer.time_block(_noop, 1).host_s for _ in range(repeats)) * 1e3


def plateau_window(settings: TimingSettings) -> int:
    """Samples over which the noise trend is judged: max(min_samples, 20)."""
    return max(settings.min_samples, 20)


def is_plateau(history: list[float], window: int) -> bool:
    """True when the relative IQR over the last ``window`` samples has stopped falling.

    The fitted slope times the window is the change the trend predicts across the window; a
    change under 10% of the current estimate means more samples will not make it converge.
    """
    if len(history) < window:
        return False
    recent = history[-window:]
    level = recent[-1]
    if not math.isfinite(level) or level <= 0:
        return False
    return abs(slope(recent) * window) < 0.1 * level


class Sampler:
    """One case's sampling state, advanced a step at a time (see the module docstring).

    Use: :meth:`warm_up`, :meth:`calibrate`, then :meth:`take_sample` until
    :meth:`should_stop` returns a reason; :meth:`result` summarises. ``stop_reason`` keeps
    the first reason :meth:`should_stop` gave.
    """

    def __init__(self, fn: Callable[[], object], timer: BlockTimer, settings: TimingSettings):
        self.fn = fn
        self.timer = timer
        self.settings = settings
        self.warmup = WarmupResult(0, 0.0, 0.0, True, None)
        self.overhead_ms = 0.0
        self.number = 1
        self.samples_ms: list[float] = []
        self.host_ms: list[float] = []
        self.measured_ms = 0.0
        self.stop_reason: str | None = None
        self._ordered: list[float] = []  # the samples kept sorted as they arrive
        self._history: list[float] = []
        self._window = plateau_window(settings)

    def warm_up(self) -> WarmupResult:
        """Untimed calls until the budget is spent and per-call times stopped falling."""
        budget_ms = self.settings.warmup_ms
        cap_ms = max(self.settings.warmup_max_ms, budget_ms)
        calls_ms: list[float] = []
        spent_ms = 0.0
        while True:
            block = self.timer.time_block(self.fn, 1)
            spent_ms += block.host_s * 1e3
            calls_ms.append(block.device_s * 1e3)
            if spent_ms >= budget_ms and (is_warm(calls_ms) or spent_ms >= cap_ms):
                break
        # at the cap, judge on the windows there are: min(k, calls // 2) calls each
        trend = warmup_trend(calls_ms, min(WARMUP_WINDOW, len(calls_ms) // 2))
        stable = trend is None or trend >= 1.0 - WARMUP_TOLERANCE
        per_call = median(calls_ms[-WARMUP_WINDOW:])
        self.warmup = WarmupResult(len(calls_ms), spent_ms, per_call, stable, trend)
        return self.warmup

    def calibrate(self) -> int:
        """Measure the timer overhead and fix the calls per sample; returns ``number``."""
        self.overhead_ms = timer_overhead_ms(self.timer)
        self.number = block_size(
            self.warmup.per_call_ms, self.overhead_ms, self.timer.per_sample_calls_fixed
        )
        return self.number

    def take_sample(self) -> float:
        """Time one block; returns the per-call time of this sample, ms."""
        self.timer.prepare_sample()
        block = self.timer.time_block(self.fn, self.number)
        per_call = block.device_s * 1e3 / self.number
        self.samples_ms.append(per_call)
        bisect.insort(self._ordered, per_call)
        self.host_ms.append(block.host_s * 1e3 / self.number)
        self.measured_ms += block.device_s * 1e3
        return per_call

    def floors_met(self) -> bool:
        """True once ``min_samples`` samples and ``min_time_ms`` of measured time are in."""
        s = self.settings
        return len(self.samples_ms) >= s.min_samples and self.measured_ms >= s.min_time_ms

    def stop(self, reason: str) -> None:
        """End sampling for a reason decided outside the sampler (a comparison group's)."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def should_stop(self) -> str | None:
        """The stop reason once the rule fires (and every call after), else None."""
        if self.stop_reason is None:
            self.stop_reason = self._rule()
        return self.stop_reason

    def _rule(self) -> str | None:
        s = self.settings
        n = len(self.samples_ms)
        if n >= s.max_samples:
            return STOP_MAX_SAMPLES
        if n < s.min_samples:
            return None
        if self.measured_ms >= s.max_time_s * 1e3:
            return STOP_MAX_TIME
        if self.measured_ms < s.min_time_ms:
            return None
        noise = rel_iqr_sorted(self._ordered)
        self._history.append(noise)
        if noise <= s.target_rel_iqr:
            return STOP_CONVERGED
        if is_plateau(self._history, self._window):
            return STOP_PLATEAU
        return None

    def result(self) -> TimingResult:
        """The samples and how they were taken (needs at least one sample)."""
        warnings = []
        if not self.warmup.stable:
            warnings.append(WARMUP_UNSTABLE)
        if len(self.samples_ms) < self.settings.min_samples:
            warnings.append(FEW_SAMPLES)
        return TimingResult(
            samples_ms=list(self.samples_ms),
            host_samples_ms=list(self.host_ms),
            number=self.number,
            stop_reason=self.stop_reason or STOP_MAX_SAMPLES,
            warmup_calls=self.warmup.calls,
            warmup_ms=self.warmup.spent_ms,
            overhead_ms=self.overhead_ms,
            summary=summarize(self.samples_ms),
            rel_iqr_history=list(self._history),
            warmup_stable=self.warmup.stable,
            warmup_trend=self.warmup.trend,
            warnings=warnings,
        )


def measure(fn: Callable[[], object], timer: BlockTimer, settings: TimingSettings) -> TimingResult:
    """Warm up, calibrate and sample ``fn`` until a stopping rule fires (see module doc)."""
    sampler = Sampler(fn, timer, settings)
    sampler.warm_up()
    sampler.calibrate()
    while True:
        sampler.take_sample()
        if sampler.should_stop():
            return sampler.result()
