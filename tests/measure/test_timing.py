"""The sampling loop on a scripted clock: exact sample counts, block sizes and stop reasons."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Iterable

import pytest

from attnbench.devices.base import BlockTime, BlockTimer
from attnbench.measure.timing import (
    STOP_CONVERGED,
    STOP_MAX_SAMPLES,
    STOP_MAX_TIME,
    STOP_PLATEAU,
    Sampler,
    block_size,
    is_plateau,
    is_warm,
    measure,
    timer_overhead_ms,
    warmup_trend,
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


# ------------------------------------------------------------------ warm-up until stable
def test_warmup_rule_edge() -> None:
    # last window 5% below the previous: exactly at the tolerance, so warm
    assert is_warm([1.0] * 5 + [0.95] * 5)
    assert warmup_trend([1.0] * 5 + [0.95] * 5) == pytest.approx(0.95)
    # a hair more than 5% below: still falling
    assert not is_warm([1.0] * 5 + [0.949] * 5)
    # rising or flat is warm; fewer than two windows is never judged warm
    assert is_warm([1.0] * 5 + [1.2] * 5)
    assert not is_warm([1.0] * 9)
    assert warmup_trend([1.0] * 9) is None


def test_warmup_goes_on_while_times_fall_then_stops_when_flat() -> None:
    # 3.0, 2.8, 2.6 ... falling 0.2 ms a call down to 1.0 ms, then flat
    falling = [3.0 - 0.2 * i for i in range(11)]
    timer = ScriptedTimer([x * 1e-3 for x in falling] + [1e-3] * 1000)
    sampler = Sampler(kernel, timer, settings(warmup_ms=1.0))
    warm = sampler.warm_up()
    # the budget is spent after 1 call; the falling run keeps it going until the window
    # before the last also has a median of 1.0 ms: calls 9-13 are 1.4 1.2 1.0 1.0 1.0, so
    # the 18th call ends it (at 17 the previous median is still 1.2: 1.0/1.2 < 0.95)
    assert warm.stable
    assert warm.calls == 18
    assert warm.trend == pytest.approx(1.0)
    assert warm.per_call_ms == pytest.approx(1.0)


def test_warmup_cap_with_falling_times_warns_with_the_trend() -> None:
    # every call 2% faster than the last (2 ms, 1.96 ms ...): 5 calls are 0.98^5 = 0.90x
    # the 5 before, never stable; the 50 ms cap ends it after 35 calls
    durations = [2e-3 * 0.98**i for i in range(1000)]
    sampler = Sampler(kernel, ScriptedTimer(durations), settings(warmup_ms=1.0,
                                                                warmup_max_ms=50.0))
    warm = sampler.warm_up()
    assert not warm.stable
    assert warm.calls == 35 and 50.0 <= warm.spent_ms < 52.0
    assert warm.trend == pytest.approx(0.98**5)
    sampler.calibrate()
    sampler.take_sample()
    r = sampler.result()
    assert "WARMUP_UNSTABLE" in r.warnings
    assert r.metrics()["time/warmup_trend"] == pytest.approx(0.98**5)


def test_warmup_that_flattens_before_the_cap_does_not_warn() -> None:
    durations = [10e-3 * 0.9**i for i in range(8)] + [4e-3] * 1000
    r = measure(kernel, ScriptedTimer(durations), settings(warmup_ms=1.0, warmup_max_ms=500.0))
    assert r.warmup_stable and "WARMUP_UNSTABLE" not in r.warnings


# ------------------------------------------------------------- min_samples is a floor
def test_min_samples_floor_outlasts_max_time() -> None:
    # 50 ms calls, max_time 0.1 s: the cap is reached after 2 samples, the floor wins
    timer = ScriptedTimer(itertools.repeat(50e-3))
    r = measure(kernel, timer, settings(warmup_ms=0.0, min_samples=5, min_time_ms=1.0,
                                        max_time_s=0.1))
    assert len(r.samples_ms) == 5
    assert r.stop_reason == STOP_MAX_TIME
    assert "FEW_SAMPLES" not in r.warnings


def test_max_samples_below_min_samples_flags_few_samples() -> None:
    timer = ScriptedTimer(itertools.repeat(1e-3))
    r = measure(kernel, timer, settings(min_samples=5, max_samples=4))
    assert len(r.samples_ms) == 4 and r.stop_reason == STOP_MAX_SAMPLES
    assert "FEW_SAMPLES" in r.warnings
    ok = measure(kernel, ScriptedTimer(itertools.repeat(1e-3)), settings(min_samples=5,
                                                                          max_samples=5))
    assert len(ok.samples_ms) == 5 and "FEW_SAMPLES" not in ok.warnings


def test_sampler_steps_match_measure() -> None:
    durations = [1e-3, 2e-3, 3e-3] * 100
    whole = measure(kernel, ScriptedTimer(durations), settings(warmup_ms=0.5))
    sampler = Sampler(kernel, ScriptedTimer(durations), settings(warmup_ms=0.5))
    sampler.warm_up()
    sampler.calibrate()
    reasons = []
    while not sampler.should_stop():
        sampler.take_sample()
        reasons.append(sampler.stop_reason)
    assert reasons[:-1] == [None] * (len(reasons) - 1)
    stepped = sampler.result()
    assert stepped.samples_ms == whole.samples_ms
    assert stepped.stop_reason == whole.stop_reason


def _edge_script() -> Iterable[float]:
    """Ten flat warm-up calls, then samples with a known spread."""
    return itertools.chain(itertools.repeat(1e-3, 10),
                           itertools.cycle([1.0e-3, 1.1e-3, 1.0e-3, 1.3e-3, 1.0e-3]))


def test_convergence_rule_is_at_or_below_the_target() -> None:
    from attnbench.metrics.stats import rel_iqr

    first_ten = [x * 1e3 for x in itertools.islice(_edge_script(), 10, 20)]
    edge = rel_iqr(first_ten)
    assert edge > 0
    at = measure(kernel, ScriptedTimer(_edge_script()), settings(target_rel_iqr=edge))
    assert at.warmup_calls == 10
    assert at.stop_reason == STOP_CONVERGED and len(at.samples_ms) == 10  # exactly at target
    below = measure(kernel, ScriptedTimer(_edge_script()),
                    settings(target_rel_iqr=math.nextafter(edge, 0.0)))
    assert len(below.samples_ms) > 10  # one step beyond: not converged at the first check


def test_plateau_uses_the_latest_level_and_is_strict_at_its_edge() -> None:
    # a slope of exactly 1 per sample over 10 samples ending at 100: the trend predicts a
    # change of 10 = 10% of the level, which is not under 10%, so not yet a plateau
    edge = [91.0 + i for i in range(10)]
    assert not is_plateau(edge, 10)
    assert is_plateau([91.5 + 0.95 * i for i in range(10)], 10)
    # the level is the last value (1.038): a gentle trend of 0.04 over the window is a
    # plateau, although the second value (0.001, offset by a dip at the 19th) is tiny
    history = [1 + 0.002 * i for i in range(20)]
    dip = history[1] - 0.001
    history[1], history[18] = 0.001, history[18] - dip
    assert is_plateau(history, 20)


def test_host_time_per_call_is_recorded_in_ms() -> None:
    timer = ScriptedTimer(itertools.repeat(1e-3), overhead_s=1e-6)
    r = measure(kernel, timer, settings())
    assert r.number == 1
    assert r.host_samples_ms == pytest.approx([1.001] * len(r.samples_ms), rel=1e-12)
    assert r.metrics()["time/host_median_ms"] == pytest.approx(1.001, rel=1e-12)


def test_max_time_stops_exactly_when_reached() -> None:
    # per-call times of 2^-10 s and 3·2^-10 s are exact in binary: ten samples measure
    # exactly 19.53125 ms, the budget, and the rule stops there (not one sample later)
    timer = ScriptedTimer(itertools.cycle([2.0**-10, 3 * 2.0**-10]))
    s = settings(min_samples=5, min_time_ms=1.0, max_time_s=0.01953125, target_rel_iqr=1e-4)
    r = measure(kernel, timer, s)
    assert r.number == 1
    assert (r.stop_reason, len(r.samples_ms)) == (STOP_MAX_TIME, 10)


def test_a_sampler_never_warmed_up_reports_no_warm_up() -> None:
    sampler = Sampler(kernel, ScriptedTimer(itertools.repeat(1e-3)), settings(min_samples=1))
    assert sampler.calibrate() == block_size(0.0, sampler.overhead_ms, False)
    sampler.number = 4
    sampler.take_sample()
    r = sampler.result()
    assert (r.warmup_calls, r.warmup_ms, r.warmup_stable, r.warmup_trend) == (0, 0.0, True, None)
    assert "WARMUP_UNSTABLE" not in r.warnings
    # four calls of 1 ms and 1 µs of timer overhead per block: 1.00025 ms of host time per call
    assert r.host_samples_ms == [pytest.approx(1.00025, rel=1e-12)]
    assert r.metrics()["time/calls_per_sample"] == 4.0


def test_host_median_is_the_middle_of_the_sorted_host_times() -> None:
    r = measure(kernel, ScriptedTimer(itertools.repeat(1e-3)), settings())
    odd = dataclasses.replace(r, host_samples_ms=[5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 0.5])
    assert odd.metrics()["time/host_median_ms"] == 3.0
    even = dataclasses.replace(r, host_samples_ms=[6.0, 1.0, 5.0, 2.0, 4.0, 3.0])
    assert even.metrics()["time/host_median_ms"] == 4.0  # the upper middle of six


def test_timer_overhead_is_the_cheapest_single_empty_call() -> None:
    numbers: list[int] = []

    class Spy(ScriptedTimer):
        def time_block(self, fn: Callable[[], object], number: int) -> BlockTime:
            numbers.append(number)
            return BlockTime(2e-6 * number, 3e-6 * number + 1e-6 * len(numbers), number)

    assert timer_overhead_ms(Spy([]), repeats=3) == pytest.approx(4e-3)
    assert numbers == [1, 1, 1]


# ------------------------------------------------------------------ edges of each rule
def test_warmup_trend_of_one_call_windows_and_a_zero_window() -> None:
    assert warmup_trend([4.0, 2.0], k=1) == 0.5
    assert warmup_trend([4.0, 1.0, 3.0], k=1) == 3.0  # the last two calls only
    assert warmup_trend([4.0, 2.0], k=0) is None
    assert warmup_trend([0.0] * 5 + [1.0] * 5) is None  # nothing to divide by
    assert not is_warm([0.0] * 5 + [1.0] * 5)


@pytest.mark.parametrize(
    ("per_call_ms", "overhead_ms", "fixed", "expected"),
    [(0.0, 0.001, False, 1000), (-1.0, 0.001, False, 1000), (0.0, 0.0, False, 1),
     (0.0, 0.001, True, 1), (0.1, 0.0, False, 1), (0.1, 0.001, False, 1),
     (0.1, 0.0011, False, 2)],
)  # fmt: skip
def test_block_size_without_a_per_call_time(
    per_call_ms: float, overhead_ms: float, fixed: bool, expected: int
) -> None:
    # no per-call estimate: 1000 calls per sample unless the timer costs nothing or is fixed
    assert block_size(per_call_ms, overhead_ms, fixed) == expected


def test_timer_overhead_takes_five_tries_by_default() -> None:
    costs = iter([5e-6, 4e-6, 6e-6, 3e-6, 7e-6, 1e-9])

    class Counting(ScriptedTimer):
        def time_block(self, fn: Callable[[], object], number: int) -> BlockTime:
            host = next(costs)
            return BlockTime(host, host, number)

    assert timer_overhead_ms(Counting([])) == pytest.approx(3e-3)  # the 6th is never taken


def test_plateau_window_is_min_samples_when_that_is_larger() -> None:
    from attnbench.measure.timing import plateau_window

    assert plateau_window(settings(min_samples=10)) == 20
    assert plateau_window(settings(min_samples=20)) == 20
    assert plateau_window(settings(min_samples=31)) == 31


def test_no_plateau_on_an_infinite_or_zero_level() -> None:
    assert not is_plateau([math.inf] * 20, 20)
    assert not is_plateau([0.0] * 20, 20)
    assert not is_plateau([0.5] * 19 + [-0.1], 20)
    assert is_plateau([0.5] * 25, 20)  # longer histories: the last window


def test_floors_and_an_outside_stop() -> None:
    s = Sampler(kernel, ScriptedTimer(itertools.repeat(2e-3)), settings(min_samples=3,
                                                                        min_time_ms=6.0))
    for _ in range(2):
        s.take_sample()
    assert not s.floors_met()  # 2 samples, 4 ms
    s.take_sample()
    assert s.floors_met()  # 3 samples, exactly 6 ms
    t = Sampler(kernel, ScriptedTimer(itertools.repeat(1e-3)), settings(min_samples=3,
                                                                        min_time_ms=6.0))
    for _ in range(3):
        t.take_sample()
    assert not t.floors_met()  # 3 samples but 3 ms
    t.stop("ratio_resolved")
    t.stop("later")
    assert t.should_stop() == "ratio_resolved" and t.result().stop_reason == "ratio_resolved"


def test_a_sampler_stopped_by_nobody_reports_max_samples() -> None:
    s = Sampler(kernel, ScriptedTimer(itertools.repeat(1e-3)), settings(min_samples=1))
    s.take_sample()
    assert s.stop_reason is None and s.result().stop_reason == STOP_MAX_SAMPLES


def test_min_time_is_a_floor_reached_exactly() -> None:
    # 2^-10 s per call, min_time exactly five of them: the first check is at sample 5
    timer = ScriptedTimer(itertools.repeat(2.0**-10))
    r = measure(kernel, timer, settings(min_samples=2, min_time_ms=5 * 1000 * 2.0**-10))
    assert (r.stop_reason, len(r.samples_ms)) == (STOP_CONVERGED, 5)
    assert r.rel_iqr_history == [0.0]  # the rules were checked once


def test_samples_are_per_call_and_measured_time_adds_up() -> None:
    timer = ScriptedTimer(itertools.repeat(1e-3))
    s = Sampler(kernel, timer, settings())
    s.number = 4
    assert s.take_sample() == pytest.approx(1.0)
    assert s.take_sample() == pytest.approx(1.0)
    assert s.measured_ms == pytest.approx(8.0) and timer.prepared == 2
    assert s.host_ms == [pytest.approx(1.00025, rel=1e-12)] * 2


def test_timing_metrics_use_the_catalog_keys() -> None:
    r = measure(kernel, ScriptedTimer(itertools.repeat(1e-3)), settings())
    m = r.metrics()
    assert set(m) - set(r.summary.as_metrics()) == {
        "time/calls_per_sample", "time/warmup_ms", "time/warmup_calls", "time/warmup_trend",
        "time/host_median_ms",
    }  # fmt: skip
    assert m["time/warmup_calls"] == 10.0 and m["time/warmup_trend"] == 1.0
    assert m["time/warmup_ms"] == pytest.approx(10 * 1.001)
    no_trend = dataclasses.replace(r, warmup_trend=None)
    assert "time/warmup_trend" not in no_trend.metrics()


def test_warmup_budget_above_the_cap_is_spent_in_full() -> None:
    # cap below the budget: the budget wins (at least warmup_ms of host time)
    timer = ScriptedTimer(itertools.repeat(1e-3), overhead_s=0.0)
    warm = Sampler(kernel, timer, settings(warmup_ms=12.0, warmup_max_ms=3.0)).warm_up()
    assert warm.calls == 12 and warm.stable and warm.spent_ms == pytest.approx(12.0)


def test_warmup_budget_reached_exactly_needs_no_extra_call() -> None:
    # 2^-10 s calls (exact in binary) and a budget of exactly 10 of them: 10 calls, two windows
    timer = ScriptedTimer(itertools.repeat(2.0**-10), overhead_s=0.0)
    warm = Sampler(kernel, timer, settings(warmup_ms=10 * 1000 * 2.0**-10)).warm_up()
    assert warm.calls == 10
    capped = Sampler(kernel, ScriptedTimer([4e-3, 3e-3, 2e-3, 1e-3] * 10, overhead_s=0.0),
                     settings(warmup_ms=0.0, warmup_max_ms=10.0)).warm_up()  # fmt: skip
    # falling times, cap of 10 ms reached exactly by 4 calls: judged on windows of 2
    assert capped.calls == 4 and capped.trend == pytest.approx(1.5 / 3.5)
    assert not capped.stable and capped.per_call_ms == pytest.approx(2.5)


def test_a_single_call_filling_the_cap_is_not_flagged() -> None:
    timer = ScriptedTimer([50e-3] + [1e-3] * 100, overhead_s=0.0)
    warm = Sampler(kernel, timer, settings(warmup_ms=1.0, warmup_max_ms=20.0)).warm_up()
    assert (warm.calls, warm.stable, warm.trend, warm.per_call_ms) == (1, True, None, 50.0)


def test_warnings_come_in_order() -> None:
    durations = [4e-3, 3e-3, 2e-3, 1e-3] + [1e-3] * 100
    s = Sampler(kernel, ScriptedTimer(durations, overhead_s=0.0),
                settings(warmup_ms=0.0, warmup_max_ms=10.0, min_samples=5))  # fmt: skip
    s.warm_up()
    s.take_sample()
    assert s.result().warnings == ["WARMUP_UNSTABLE", "FEW_SAMPLES"]


def test_a_capped_warmup_exactly_at_the_tolerance_is_stable() -> None:
    # calls of 20, 20, 19, 19 units of 2^-10 s (exact in binary); the cap falls inside the
    # fourth call, so warm-up ends after 4 calls and is judged on windows of 2: 19/20 = 0.95
    # is exactly 5% faster, which is still stable; 18.9/20 is not
    unit = 2.0**-10
    for last, stable in ((19, True), (18.9, False)):
        cap_ms = (40 + 1.5 * last) * unit * 1e3
        timer = ScriptedTimer([u * unit for u in (20, 20, last, last)] + [unit] * 10,
                              overhead_s=0.0)  # fmt: skip
        warm = Sampler(kernel, timer, settings(warmup_ms=0.0,
                                               warmup_max_ms=cap_ms)).warm_up()  # fmt: skip
        assert warm.calls == 4 and warm.trend == pytest.approx(last / 20)
        assert warm.stable is stable


def test_the_result_carries_the_overhead_and_the_warmup_verdict() -> None:
    # 1 µs of timer overhead is 0.001 ms; before calibration there is none
    fresh = Sampler(kernel, ScriptedTimer(itertools.repeat(1e-3)), settings(min_samples=1))
    fresh.take_sample()
    assert fresh.result().overhead_ms == 0.0
    r = measure(kernel, ScriptedTimer(itertools.repeat(1e-3), overhead_s=1e-6), settings())
    assert r.overhead_ms == pytest.approx(1e-3, rel=1e-9)
    falling = [2e-3 * 0.98**i for i in range(1000)]
    s = Sampler(kernel, ScriptedTimer(falling), settings(warmup_ms=1.0, warmup_max_ms=50.0))
    s.warm_up()
    s.take_sample()
    assert s.result().warmup_stable is False
