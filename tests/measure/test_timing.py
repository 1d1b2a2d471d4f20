"""The sampling loop on a scripted clock: exact sample counts, block sizes and stop reasons."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import pytest

from attnbench.devices.base import BlockTime, BlockTimer
from attnbench.measure.timing import (
    STOP_CONVERGED,
    STOP_MAX_SAMPLES,
    STOP_MAX_TIME,
    STOP_PLATEAU,
    block_size,
    is_plateau,
    measure,
)
from attnbench.suite.schema import TimingSettings


class ScriptedTimer(BlockTimer):
    """A timer whose calls take scripted durations (seconds); the empty block costs overhead_s."""

    def __init__(self, durations_s: Iterable[float], overhead_s: float = 1e-6, cold: bool = False):
        self.durations = iter(durations_s)
        self.overhead_s = overhead_s
        self.cold = cold
        self.calls = 0
        self.prepared = 0

    def time_block(self, fn: Callable[[], object], number: int) -> BlockTime:
        if getattr(fn, "__name__", "") == "_noop":
            return BlockTime(self.overhead_s, self.overhead_s, number)
        total = 0.0
        for _ in range(number):
            fn()
            self.calls += 1
            total += next(self.durations)
        return BlockTime(device_s=total, host_s=total + self.overhead_s, number=number)

    def prepare_sample(self) -> None:
        self.prepared += 1

    @property
    def per_sample_calls_fixed(self) -> bool:
        return self.cold


def kernel() -> None:
    return None


def settings(**kw: float) -> TimingSettings:
    base = {"warmup_ms": 5.0, "min_samples": 10, "min_time_ms": 5.0, "max_time_s": 10.0,
            "target_rel_iqr": 0.01}
    base.update(kw)
    return TimingSettings(**base)  # type: ignore[arg-type]


def test_constant_kernel_converges_after_min_samples() -> None:
    timer = ScriptedTimer(itertools.repeat(1e-3))
    r = measure(kernel, timer, settings())
    # warm-up: 5 calls of 1.001 ms host time reach the 5 ms budget; the stability rule then
    # needs two windows of 5 calls, so warm-up ends at 10 calls with a flat trend
    assert r.warmup_calls == 10
    assert r.warmup_stable and r.warmup_trend == 1.0
    assert r.number == 1
    assert r.stop_reason == STOP_CONVERGED
    assert len(r.samples_ms) == 10
    assert r.summary.median_ms == pytest.approx(1.0)
    assert r.summary.rel_iqr == 0.0


def test_min_time_binds_before_convergence() -> None:
    timer = ScriptedTimer(itertools.repeat(1e-3))
    r = measure(kernel, timer, settings(min_time_ms=25.0))
    assert r.stop_reason == STOP_CONVERGED
    assert len(r.samples_ms) == 25


def test_noise_that_never_shrinks_stops_on_plateau() -> None:
    timer = ScriptedTimer(itertools.cycle([1e-3, 2e-3]))
    r = measure(kernel, timer, settings(warmup_ms=0.5))
    # eligible from sample 10; the plateau window is max(min_samples, 20) = 20 checks
    assert r.stop_reason == STOP_PLATEAU
    assert len(r.samples_ms) == 10 + 20 - 1
    # warm-up took 10 calls (1, 2, ... 2: no downward trend), so samples run 1, 2, 1...:
    # 15 ones and 14 twos give median 1, Q1 1, Q3 2
    assert r.warmup_calls == 10
    assert r.summary.rel_iqr == pytest.approx(1.0)


def test_max_time_caps_measured_time() -> None:
    timer = ScriptedTimer(itertools.cycle([1e-3, 2e-3]))
    r = measure(kernel, timer, settings(warmup_ms=0.5, max_time_s=0.02))
    # warm-up takes 10 calls; samples 1+2+1+... ms: 13 sum to 19 ms, the 14th reaches
    # 21 ms >= max_time
    assert r.stop_reason == STOP_MAX_TIME
    assert len(r.samples_ms) == 14


def test_max_samples_cap() -> None:
    timer = ScriptedTimer(itertools.cycle([1e-3, 3e-3, 2e-3]))
    r = measure(kernel, timer, settings(warmup_ms=0.5, max_samples=12))
    assert r.stop_reason == STOP_MAX_SAMPLES
    assert len(r.samples_ms) == 12


def test_block_size_keeps_overhead_under_one_percent() -> None:
    # 1 µs kernel, 1 µs timer overhead: 100 calls per sample give 1% overhead
    timer = ScriptedTimer(itertools.repeat(1e-6), overhead_s=1e-6)
    r = measure(kernel, timer, settings(warmup_ms=0.01, min_time_ms=0.0))
    assert r.number == 100
    assert r.samples_ms[0] == pytest.approx(1e-3)
    assert len(r.samples_ms) == 10
    assert timer.calls == r.warmup_calls + 100 * 10


def test_cold_timer_forces_one_call_per_sample_and_prepares_each() -> None:
    timer = ScriptedTimer(itertools.repeat(1e-6), overhead_s=1e-6, cold=True)
    r = measure(kernel, timer, settings(warmup_ms=0.01, min_time_ms=0.0))
    assert r.number == 1
    assert timer.prepared == len(r.samples_ms) == 10


@pytest.mark.parametrize(
    ("per_call_ms", "overhead_ms", "fixed", "expected"),
    [(1.0, 0.001, False, 1), (0.001, 0.001, False, 100), (0.0005, 0.002, False, 400),
     (0.001, 0.001, True, 1)],
)
def test_block_size(per_call_ms: float, overhead_ms: float, fixed: bool, expected: int) -> None:
    assert block_size(per_call_ms, overhead_ms, fixed) == expected


def test_plateau_rule() -> None:
    assert not is_plateau([0.5] * 19, 20)
    assert is_plateau([0.5] * 20, 20)
    falling = [0.5 - 0.01 * i for i in range(20)]
    assert not is_plateau(falling, 20)
