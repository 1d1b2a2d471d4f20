"""Sampling loop: warm-up by time budget, calibrated blocks, nvbench-style stopping.

Algorithm (all durations come from the device's :class:`BlockTimer`, so a scripted timer in
tests drives it exactly):

1. **Warm-up**: call the kernel, untimed for the result, until ``warmup_ms`` of host time has
   passed (at least one call). The last warm-up call estimates the per-call time.
2. **Block size**: measure the timer's own overhead with an empty block, then batch
   ``number`` calls per sample so the overhead is under 1% of a sample
   (``number = ceil(overhead / (0.01 * per_call))``). Cold-cache GPU timing forces
   ``number = 1`` because the L2 flush must precede every call.
3. **Sampling**: take samples (per-call time = block time / number). Nothing stops before
   ``min_samples`` samples and ``min_time_ms`` of measured time. After that, stop when the
   relative IQR is at or below ``target_rel_iqr`` (``converged``), or when the noise estimate
   has stopped improving: the least-squares slope of the relative IQR over the last
   ``plateau_window`` samples changes it by under 10% across the window (``noise_plateau``).
   Hard caps: ``max_time_s`` of measured time (``max_time``), ``max_samples``.

The trade-off: a tighter target costs more samples; the plateau rule stops early on a machine
whose noise will not shrink, instead of spinning until the timeout.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from attnbench.devices.base import BlockTimer
from attnbench.metrics.stats import Summary, rel_iqr_sorted, slope, summarize
from attnbench.suite.schema import TimingSettings

STOP_CONVERGED = "converged"
STOP_PLATEAU = "noise_plateau"
STOP_MAX_TIME = "max_time"
STOP_MAX_SAMPLES = "max_samples"
OVERHEAD_TARGET = 0.01


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

    def metrics(self) -> dict[str, float]:
        out = self.summary.as_metrics()
        out["time/calls_per_sample"] = float(self.number)
        out["time/warmup_ms"] = self.warmup_ms
        host_sorted = sorted(self.host_samples_ms)
        out["time/host_median_ms"] = host_sorted[len(host_sorted) // 2]
        return out


def _noop() -> None:
    return None


def warm_up(
    timer: BlockTimer, fn: Callable[[], object], budget_ms: float
) -> tuple[int, float, float]:
    """Call ``fn`` until ``budget_ms`` host time passed; return (calls, spent_ms, last_call_ms)."""
    calls, spent_ms, last_ms = 0, 0.0, 0.0
    while calls == 0 or spent_ms < budget_ms:
        block = timer.time_block(fn, 1)
        calls += 1
        spent_ms += block.host_s * 1e3
        last_ms = block.device_s * 1e3
    return calls, spent_ms, last_ms


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


def measure(fn: Callable[[], object], timer: BlockTimer, settings: TimingSettings) -> TimingResult:
    """Warm up, calibrate and sample ``fn`` until a stopping rule fires (see module doc)."""
    warm_calls, warm_ms, per_call_ms = warm_up(timer, fn, settings.warmup_ms)
    overhead_ms = timer_overhead_ms(timer)
    number = block_size(per_call_ms, overhead_ms, timer.per_sample_calls_fixed)
    samples: list[float] = []
    ordered: list[float] = []  # the samples kept sorted as they arrive, for the noise estimate
    host: list[float] = []
    history: list[float] = []
    measured_ms = 0.0
    window = plateau_window(settings)
    reason = STOP_MAX_SAMPLES
    while len(samples) < settings.max_samples:
        timer.prepare_sample()
        block = timer.time_block(fn, number)
        samples.append(block.device_s * 1e3 / number)
        bisect.insort(ordered, samples[-1])
        host.append(block.host_s * 1e3 / number)
        measured_ms += block.device_s * 1e3
        if measured_ms >= settings.max_time_s * 1e3:
            reason = STOP_MAX_TIME
            break
        if len(samples) < settings.min_samples or measured_ms < settings.min_time_ms:
            continue
        noise = rel_iqr_sorted(ordered)
        history.append(noise)
        if noise <= settings.target_rel_iqr:
            reason = STOP_CONVERGED
            break
        if is_plateau(history, window):
            reason = STOP_PLATEAU
            break
    return TimingResult(
        samples_ms=samples,
        host_samples_ms=host,
        number=number,
        stop_reason=reason,
        warmup_calls=warm_calls,
        warmup_ms=warm_ms,
        overhead_ms=overhead_ms,
        summary=summarize(samples),
        rel_iqr_history=history,
    )
