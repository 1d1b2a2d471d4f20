"""Every threshold of the verdict and the drift rule, exactly at its edge and one step beyond."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attnbench.compare.drift import DRIFT_MARGIN, MAX_CANARY_REL_IQR, compare_canaries
from attnbench.compare.estimate import TIME_METRIC, Evidence, gather
from attnbench.compare.policy import CaseSettings
from attnbench.compare.stats import ALPHA, RatioEstimate
from attnbench.compare.verdict import decide, worse_factor
from tests.compare.helpers import case, run, samples

V = "softmax.naive"
T = 0.25  # a threshold whose edges 1.25 and 0.75 are exact in binary
REPS = np.zeros(2000)


def _tested(ratio: float, p_adj: float = 1e-9, change_ms: float | None = 1.0,
            lo: float | None = None, hi: float | None = None) -> Evidence:  # fmt: skip
    est = RatioEstimate(ratio, lo if lo is not None else ratio * 0.99,
                        hi if hi is not None else ratio * 1.01, REPS)  # fmt: skip
    return Evidence(1.0, ratio, est, p=p_adj, sd_log=0.01, n_baseline=40, n_current=40,
                    change_ms=change_ms, p_run=p_adj)  # fmt: skip


def _decide(ev: Evidence, p_adj: float = 1e-9, direction: str = "lower", **settings: float) -> str:
    s = CaseSettings(max_regression=settings.get("t", T), floor_ms=settings.get("floor", 0.001))
    return decide("c", V, ev, s, direction, p_adj, 1).verdict


def test_slower_needs_the_ratio_strictly_beyond_the_threshold() -> None:
    assert _decide(_tested(1.25, lo=1.24, hi=1.26)) == "ambiguous"
    assert _decide(_tested(1.2500001, lo=1.24, hi=1.26)) == "slower"
    assert _decide(_tested(0.75, lo=0.74, hi=0.76)) == "ambiguous"
    assert _decide(_tested(0.7499999, lo=0.74, hi=0.76)) == "faster"


def test_significance_is_at_or_below_alpha() -> None:
    assert _decide(_tested(1.5), p_adj=ALPHA) == "slower"
    assert _decide(_tested(1.5), p_adj=math.nextafter(ALPHA, 1)) == "ambiguous"


def test_the_floor_is_strict() -> None:
    assert _decide(_tested(1.5, change_ms=0.5), floor=0.5) == "same"
    assert _decide(_tested(1.5, change_ms=0.5000001), floor=0.5) == "slower"
    assert _decide(_tested(1.5, change_ms=None), floor=0.5) == "slower"


def test_same_needs_the_interval_inside_the_band_edges_included() -> None:
    assert _decide(_tested(1.0, p_adj=0.5, lo=0.75, hi=1.25), p_adj=0.5) == "same"
    assert _decide(_tested(1.0, p_adj=0.5, lo=0.7499, hi=1.25), p_adj=0.5) == "ambiguous"
    assert _decide(_tested(1.0, p_adj=0.5, lo=0.75, hi=1.2501), p_adj=0.5) == "ambiguous"


def test_untested_values_against_the_threshold() -> None:
    def one(ratio: float) -> str:
        ev = Evidence(1.0, ratio, RatioEstimate(ratio, ratio, ratio))
        return _decide(ev, p_adj=1.0)

    assert [one(r) for r in (1.25, 1.2500001, 0.75, 0.7499999, 1.0)] == [
        "same", "slower", "same", "faster", "same"
    ]  # fmt: skip


def test_direction_higher_inverts_and_zero_is_infinitely_worse() -> None:
    assert worse_factor(0.5, "higher") == 2.0 and worse_factor(0.0, "higher") == math.inf
    assert worse_factor(1.0, "higher") == 1.0 and worse_factor(2.0, "lower") == 2.0
    ev = Evidence(1.0, 0.5, RatioEstimate(0.5, 0.5, 0.5))
    assert _decide(ev, p_adj=1.0, direction="higher") == "slower"


def test_reasons_and_what_they_carry() -> None:
    s = CaseSettings(max_regression=T)
    none = decide("c", V, Evidence(1.0, None, None), s, "lower", None, 1)
    assert (none.verdict, none.reason) == ("ambiguous", "no ratio could be formed")
    noted = decide("c", V, Evidence(1.0, None, None, note="why"), s, "lower", None, 1)
    assert noted.reason == "why"
    flagged = decide("c", V, _tested(1.5), s, "lower", 1e-9, 1, unreliable="HIGH_NOISE in current")
    assert flagged.verdict == "ambiguous"
    assert flagged.reason == "HIGH_NOISE in current, not confirmed"
    assert flagged.mde is not None
    quiet = decide("c", V, _tested(1.3, p_adj=0.5, lo=1.0, hi=1.6), s, "lower", 0.5, 1)
    assert quiet.reason == "not significant" and quiet.samples_needed is not None
    zero = decide("c", V, _tested(1.3, p_adj=0.5, lo=1.0, hi=1.6), CaseSettings(max_regression=0.0),
                  "lower", 0.5, 1)  # fmt: skip
    assert zero.samples_needed is None


def test_the_mde_level_is_alpha_over_the_tests_and_never_over_zero() -> None:
    s = CaseSettings(max_regression=T)
    one = decide("c", V, _tested(1.0, p_adj=0.5, lo=0.9, hi=1.1), s, "lower", 0.5, 1)
    none = decide("c", V, _tested(1.0, p_adj=0.5, lo=0.9, hi=1.1), s, "lower", 0.5, 0)
    many = decide("c", V, _tested(1.0, p_adj=0.5, lo=0.9, hi=1.1), s, "lower", 0.5, 20)
    assert one.mde == none.mde and many.mde is not None and one.mde is not None
    assert many.mde > one.mde


# drift ---------------------------------------------------------------------------------------


def test_a_canary_needs_two_samples() -> None:
    one = run([])
    one.run["canary"]["points"] = [{"phase": "start", "samples_ms": [0.3]}]
    d = compare_canaries(one, run([]))
    assert (d.estimate, d.moved) == (None, False)
    assert d.note == "no canary in the baseline run: cases judged on raw ratios"
    d = compare_canaries(run([]), one)
    assert d.note == "no canary in the current run: cases judged on raw ratios"
    two = run([])
    two.run["canary"]["points"] = [{"phase": "start", "samples_ms": [0.3, 0.31]}]
    assert compare_canaries(two, run([])).estimate is not None


def test_different_canaries_are_not_compared() -> None:
    changes = (("kernel", "matmul_fp32"), ("size", 7), ("shape", [1, 4, 512, 32]),
               ("dtype", "fp16"), ("device", "cuda"))  # fmt: skip
    for key, value in changes:
        other = run([])
        other.run["canary"][key] = value
        d = compare_canaries(run([]), other)
        assert (d.estimate, d.moved) == (None, False), key
        assert d.note == "the runs timed different canaries: cases judged on raw ratios"
    same_shape = run([])
    same_shape.run["canary"]["shape"] = list(same_shape.run["canary"]["shape"])  # a fresh list
    assert compare_canaries(run([]), same_shape).estimate is not None


def test_drift_moves_only_beyond_the_margin() -> None:
    def moved(factor: float) -> bool:
        base, cur = run([]), run([])
        base.run["canary"]["points"] = [{"phase": "p", "samples_ms": [1.0] * 10}]
        cur.run["canary"]["points"] = [{"phase": "p", "samples_ms": [factor] * 10}]
        return compare_canaries(base, cur).moved

    assert not moved(1 + DRIFT_MARGIN) and moved(1 + DRIFT_MARGIN + 1e-6)
    assert not moved(1 - DRIFT_MARGIN) and moved(1 - DRIFT_MARGIN - 1e-6)


def test_a_canary_just_inside_the_noise_limit_is_used_and_beyond_it_not() -> None:
    def noisy(rel_iqr: float) -> str:
        base, cur = run([]), run([])
        base.run["canary"]["points"] = [{"phase": "p", "samples_ms": [1.0] * 10}]
        # quartiles at 1 ± rel_iqr / 2 around a median of 1: relative IQR = rel_iqr
        half = rel_iqr / 2
        vals = [1.5 - half * 4] + [1.5 - half] * 3 + [1.5] * 3 + [1.5 + half] * 3 + [1.5 + half * 4]
        cur.run["canary"]["points"] = [{"phase": "p", "samples_ms": vals}]
        return compare_canaries(base, cur).note

    assert "too noisy" not in noisy(MAX_CANARY_REL_IQR * 1.5 * 0.999)
    assert "too noisy" in noisy(MAX_CANARY_REL_IQR * 1.5 * 1.2)


# gather ----------------------------------------------------------------------------------------


def test_gather_divides_the_current_samples_by_the_canary() -> None:
    base = case(V, 64, samples(1.0, 40, 0.01, 1))
    cur = case(V, 64, samples(1.2, 40, 0.01, 2))
    canary = RatioEstimate(1.2, 1.19, 1.21, np.zeros(2000))
    ev = gather(base, cur, TIME_METRIC, canary)
    normalised = [s / 1.2 for s in cur.samples]
    assert ev.normalised and ev.change_ms == pytest.approx(
        abs(float(np.median(normalised)) - float(np.median(base.samples)))
    )
    assert ev.baseline == base.metrics[TIME_METRIC] and ev.current == cur.metrics[TIME_METRIC]
    raw = gather(base, cur, TIME_METRIC)
    assert not raw.normalised and raw.p is not None and ev.p is not None and raw.p < ev.p


def test_gather_falls_back_to_the_sample_median_when_no_metric_is_stored() -> None:
    base = case(V, 64, samples(1.0, 40, 0.01, 1))
    cur = case(V, 64, samples(1.2, 40, 0.01, 2))
    del base.metrics[TIME_METRIC], cur.metrics[TIME_METRIC]
    ev = gather(base, cur, TIME_METRIC)
    assert ev.baseline == pytest.approx(float(np.median(base.samples)))
    assert ev.current == pytest.approx(float(np.median(cur.samples)))


# the one-line notes, word for word -------------------------------------------------------------


def test_drift_lines() -> None:
    from attnbench.compare.drift import describe

    est = RatioEstimate(1.2, 1.15, 1.25)
    assert describe(est, True) == (
        "machine drift: the canary ran 20.0% slower (ratio 1.200 [1.150, 1.250]); cases are "
        "judged on canary-normalised ratios"
    )
    fast = RatioEstimate(0.9, 0.85, 0.95)
    assert describe(fast, True).startswith("machine drift: the canary ran 10.0% faster")
    assert describe(RatioEstimate(1.001, 0.999, 1.003), False) == (
        "canary ratio 1.001 [0.999, 1.003]: no machine drift beyond its noise"
    )


def test_run_noise_lines() -> None:
    from attnbench.compare.noise import MIN_CASES, RunNoise, describe

    both = RunNoise(0.03, 0.04, 12, 6)
    assert describe(both, 12) == (
        "run-to-run noise ±5.1% (canary wander ±4.1%; case spread ±3.0%); cases tested against it"
    )
    neither = RunNoise()
    assert describe(neither, 3) == (
        "run-to-run noise ±0.0% (no canary: machine wander not counted; case spread needs "
        f"{MIN_CASES} tested cases, has 3); cases tested against it"
    )
