"""Edges of the evidence and verdict code that mutation testing found unguarded."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from attnbench.compare.estimate import TIME_METRIC, Evidence, gather
from attnbench.compare.gate import gate_runs
from attnbench.compare.noise import RunNoise
from attnbench.compare.policy import CaseSettings
from attnbench.compare.stats import (
    ALPHA,
    RatioEstimate,
    mann_whitney_p,
    mde_from,
    pooled_log_sd,
    ratio_of_medians,
    robust_log_sd,
    z_power,
)
from attnbench.compare.verdict import CaseVerdict, decide
from tests.compare.helpers import case, run, samples

V = "softmax.naive"
MEM = "memory/peak_bytes"


def _pair(b: float | None, c: float | None) -> Evidence:
    base = case(V, 64, samples(1.0), extra={} if b is None else {MEM: b})
    cur = case(V, 64, samples(1.0, seed=1), extra={} if c is None else {MEM: c})
    return gather(base, cur, MEM)


# one-value metrics -------------------------------------------------------------------------


def test_a_one_value_metric_missing_on_either_side() -> None:
    ev = _pair(None, 5.0)
    assert (ev.baseline, ev.current, ev.estimate) == (None, 5.0, None)
    assert ev.note == f"{MEM} not recorded in the baseline run"
    ev = _pair(4.0, None)
    assert (ev.baseline, ev.current, ev.estimate) == (4.0, None, None)
    assert ev.note == f"{MEM} not recorded in the current run"


@pytest.mark.parametrize(
    ("b", "c", "ratio"),
    [(3.0, 3.0, 1.0), (0.5, 0.6, 1.2), (0.0, 2.0, math.inf), (0.0, 0.5, math.inf),
     (2.0, 0.0, 0.0), (0.5, 0.0, 0.0), (-1.0, 0.0, 1.0), (0.0, -2.0, 1.0), (0.5, 0.25, 0.5)],
)  # fmt: skip
def test_a_one_value_metric_is_judged_on_its_value(b: float, c: float, ratio: float) -> None:
    ev = _pair(b, c)
    assert (ev.baseline, ev.current) == (b, c)
    assert ev.estimate is not None
    assert (ev.estimate.ratio, ev.estimate.ci_low, ev.estimate.ci_high) == pytest.approx(
        (ratio, ratio, ratio)
    )
    assert ev.note == "one value per case: judged on the value alone"
    assert ev.p is None and not ev.tested and ev.p_decision is None


@pytest.mark.parametrize("bad", [[], [1.0, 0.0], [1.0, -2.0]])
def test_time_without_positive_samples_is_judged_on_the_stored_value(bad: list[float]) -> None:
    base = case(V, 64, samples(1.0))
    cur = case(V, 64, samples(1.1, seed=1))
    cur.samples = bad
    ev = gather(base, cur, TIME_METRIC)
    assert not ev.tested
    assert ev.note == "no raw samples in a file: judged on the stored value alone"
    one = case(V, 64, samples(1.0, seed=2))
    one.samples = [1.5]  # a single positive sample is enough for a ratio
    assert gather(base, one, TIME_METRIC).tested


# sample statistics --------------------------------------------------------------------------


def test_robust_and_pooled_log_sd_by_hand() -> None:
    a = [1.0, 2.0, 4.0, 8.0, 16.0]
    q1, q3 = np.quantile(np.log(a), [0.25, 0.75])
    assert robust_log_sd(a) == pytest.approx((q3 - q1) / 1.349)
    b = [1.0, 1.5, 2.0]
    s1, s2 = robust_log_sd(a), robust_log_sd(b)
    assert pooled_log_sd(a, b) == pytest.approx(math.sqrt((4 * s1**2 + 2 * s2**2) / 6))
    assert pooled_log_sd([1.0], [2.0]) == 0.0
    assert pooled_log_sd([1.0], b) == pytest.approx(math.sqrt(2 * s2**2 / 2))
    assert pooled_log_sd(b, [3.0]) == pytest.approx(s2)


def test_mann_whitney_edges() -> None:
    with pytest.raises(ValueError, match=r"^Mann–Whitney needs at least one sample on each side$"):
        mann_whitney_p([], [1.0])
    with pytest.raises(ValueError, match="at least one sample"):
        mann_whitney_p([1.0], [])
    assert mann_whitney_p([1.0], [2.0, 3.0]) == pytest.approx(
        sps.mannwhitneyu([2.0, 3.0], [1.0], alternative="two-sided").pvalue
    )
    assert mann_whitney_p([1.0, 1.0], [2.0, 2.0]) == pytest.approx(
        sps.mannwhitneyu([2.0, 2.0], [1.0, 1.0], alternative="two-sided").pvalue
    )
    assert mann_whitney_p([1.0, 1.0], [2.0, 2.0]) < 1.0
    assert mann_whitney_p([3.0, 3.0], [3.0]) == 1.0


# verdicts -----------------------------------------------------------------------------------


def test_a_verdict_without_evidence_serialises_to_nulls() -> None:
    d = CaseVerdict("x/y", V, "new", CaseSettings(), reason="only in the current run").to_dict()
    for key in ("baseline", "current", "ratio", "ci_low", "ci_high", "p", "p_run", "samples",
                "change_ms", "p_adjusted", "mde", "samples_needed"):  # fmt: skip
        assert d[key] is None, key
    assert d["normalised"] is False and d["reason"] == "only in the current run"


def test_a_normalised_verdict_says_so_in_its_json() -> None:
    ev = Evidence(1.0, 1.2, RatioEstimate(1.2, 1.1, 1.3), p=1e-6, normalised=True)
    d = CaseVerdict("x/y", V, "slower", CaseSettings(), evidence=ev).to_dict()
    assert d["normalised"] is True
    plain = Evidence(1.0, 1.2, RatioEstimate(1.2, 1.1, 1.3), p=1e-6)
    assert (
        CaseVerdict("x/y", V, "slower", CaseSettings(), evidence=plain).to_dict()["normalised"]
        is False
    )


def test_non_finite_ratios_serialise_to_null() -> None:
    ev = Evidence(0.0, 2.0, RatioEstimate(math.inf, math.inf, math.inf))
    d = CaseVerdict("x/y", V, "slower", CaseSettings(metric=MEM), evidence=ev).to_dict()
    assert (d["ratio"], d["ci_low"], d["ci_high"]) == (None, None, None)
    assert (d["baseline"], d["current"]) == (0.0, 2.0) and d["samples"] == [0, 0]


def _ev(sd: float = 0.02, n: int = 40, base_ms: float = 1.0, normalised: bool = False) -> Evidence:
    reps = np.random.default_rng(0).normal(0.0, 0.004, 2000)
    est = RatioEstimate(1.0, math.exp(-0.008), math.exp(0.008), reps)
    return Evidence(base_ms, base_ms, est, p=0.9, sd_log=sd, n_baseline=n, n_current=n,
                    change_ms=0.0, normalised=normalised, p_run=0.9)  # fmt: skip


def test_the_detectable_change_is_the_largest_of_three() -> None:
    level = ALPHA / 3
    stat = mde_from(0.02, 40, 40, level)
    same = decide("c", V, _ev(), CaseSettings(floor_ms=0.0), "lower", 0.9, 3)
    assert same.verdict == "same" and same.mde == pytest.approx(stat)
    floored = decide("c", V, _ev(), CaseSettings(floor_ms=0.5), "lower", 0.9, 3)
    assert floored.mde == pytest.approx(0.5)  # 0.5 ms floor on a 1 ms case
    other = decide("c", V, _ev(), CaseSettings(floor_ms=0.5, metric=MEM), "lower", 0.9, 3)
    assert other.mde == pytest.approx(stat)  # the floor is a time floor
    noise = RunNoise(case_sd_log=0.01)
    est = _ev().estimate
    assert est is not None
    se = float(np.std(est.log_replicates, ddof=1))
    run = math.expm1(z_power(level) * math.hypot(se, 0.01))
    noisy = decide("c", V, _ev(), CaseSettings(floor_ms=0.0), "lower", 0.9, 3, noise=noise)
    assert noisy.mde == pytest.approx(max(stat, run)) and run > stat
    unknown = decide("c", V, _ev(sd=0.0), CaseSettings(floor_ms=0.0), "lower", 0.9, 3)
    assert unknown.mde == pytest.approx(mde_from(0.0, 40, 40, level))


def test_reasons_name_the_threshold_and_the_normalisation() -> None:
    ns = [16 * (i + 1) for i in range(3)]
    base = run([case(V, n, samples(1.0, 40, 0.01, i)) for i, n in enumerate(ns)], canary_ms=0.3)
    cur = run([case(V, n, samples(1.3 * 1.2, 40, 0.01, 9 + i)) for i, n in enumerate(ns)],
              canary_ms=0.36)  # fmt: skip
    result = gate_runs(base, cur, defaults=CaseSettings())
    assert result.drift.moved and [c.reason for c in result.cases] == ["canary-normalised"] * 3
    est = RatioEstimate(1.06, 1.01, 1.11, np.zeros(2))
    wide = Evidence(1.0, 1.06, est, p=1e-9, sd_log=0.02, n_baseline=40, n_current=40,
                    change_ms=0.06, p_run=1e-9)  # fmt: skip
    c = decide("c", V, wide, CaseSettings(max_regression=0.08), "lower", 1e-9, 1)
    assert c.verdict == "ambiguous" and c.reason == "interval crosses ±8.0%"


def test_resolvable_exactly_at_the_edge() -> None:
    edge = math.log1p(0.05) / z_power(ALPHA)
    reps = np.zeros(2000)
    ev = Evidence(1.0, 1.2, RatioEstimate(1.2, 1.0, 1.45, reps), p=0.5, sd_log=0.02,
                  n_baseline=40, n_current=40, change_ms=0.2, p_run=0.5)  # fmt: skip
    at_edge = decide("c", V, ev, CaseSettings(), "lower", 0.5, 1, noise=RunNoise(edge))
    assert at_edge.samples_needed is None and "with any number of samples" in at_edge.reason
    inside = decide("c", V, ev, CaseSettings(), "lower", 0.5, 1, noise=RunNoise(edge * 0.99))
    assert inside.samples_needed is not None and "any number" not in inside.reason


def test_widening_leaves_degenerate_estimates_alone() -> None:
    noise = RunNoise(case_sd_log=0.05)
    zero_low = RatioEstimate(1.0, 0.0, 2.0)
    assert noise.widened(zero_low) is zero_low
    zero = RatioEstimate(0.0, 0.0, 0.0)
    assert noise.widened(zero) is zero
    fine = RatioEstimate(1.0, 0.9, 1.1)
    assert noise.widened(fine).ci_low < 0.9


# stored values, canary samples, means --------------------------------------------------------


def test_evidence_shows_the_stored_medians_and_falls_back_to_the_samples() -> None:
    base = case(V, 64, samples(1.0))
    cur = case(V, 64, samples(1.2, seed=1))
    base.metrics["time/median_ms"], cur.metrics["time/median_ms"] = 0.9, 1.3  # as stored
    ev = gather(base, cur, TIME_METRIC)
    assert (ev.baseline, ev.current) == (0.9, 1.3)
    del base.metrics["time/median_ms"], cur.metrics["time/median_ms"]
    ev = gather(base, cur, TIME_METRIC)
    assert ev.baseline == pytest.approx(float(np.median(base.samples)))
    assert ev.current == pytest.approx(float(np.median(cur.samples)))


def test_a_canarys_non_positive_samples_are_dropped() -> None:
    from attnbench.compare.drift import canary_samples

    r = run([])
    r.run["canary"]["points"] = [
        {"phase": "start", "samples_ms": [0.3, 0.0, -1.0, "x", 0.31]},
        {"phase": "end", "error": "RuntimeError: gone"},
    ]
    assert canary_samples(r) == [0.3, 0.31]


def test_a_noisy_canary_states_its_relative_iqr_in_percent() -> None:
    from attnbench.compare.drift import compare_canaries

    noisy = run([])
    noisy.run["canary"]["points"] = [{"phase": "p", "samples_ms": [1.0, 1.0, 1.5, 1.5]}]
    d = compare_canaries(noisy, run([]))
    assert not d.moved and "canary is too noisy (relative IQR 40%)" in d.note


def test_variant_mean_json() -> None:
    from attnbench.compare.gate import VariantMean

    mean = VariantMean(V, RatioEstimate(1.1, 1.05, 1.2), 7)
    assert mean.to_dict() == {
        "variant": V, "ratio": 1.1, "ci_low": 1.05, "ci_high": 1.2, "count": 7
    }  # fmt: skip


def test_a_cpu_run_that_lists_gpus_is_still_named_by_its_cpu() -> None:
    from attnbench.compare.match import machine

    r = run([], device="")
    r.environment["cpu"] = {"model": "Some CPU"}
    r.environment["gpus"] = [{"name": "NVIDIA H100"}]
    assert machine(r).model == "Some CPU"


def test_a_failed_case_shows_no_values_even_with_metrics_left_in_it() -> None:
    from attnbench.compare.runs import Cell

    failed = case(V, 64, samples(1.0))
    failed.status = "failed"
    assert failed.metrics and Cell(failed).value("median_ms") is None


def test_a_zero_threshold_never_asks_for_samples() -> None:
    ev = Evidence(1.0, 1.01, RatioEstimate(1.01, 0.98, 1.04), p=0.4, sd_log=0.02,
                  n_baseline=40, n_current=40, change_ms=0.01, p_run=0.4)  # fmt: skip
    c = decide("c", V, ev, CaseSettings(max_regression=0.0), "lower", 0.4, 1)
    assert c.verdict == "ambiguous" and c.samples_needed is None


# the evidence of a sample-backed metric, every field -------------------------------------------


def test_normalised_time_evidence_field_by_field() -> None:
    base = case(V, 64, samples(1.0, 30, 0.03, 1))
    cur = case(V, 64, samples(1.3, 25, 0.03, 2))
    reps = np.random.default_rng(5).normal(np.log(1.2), 0.01, 2000)
    canary = RatioEstimate(1.2, 1.18, 1.22, reps)
    ev = gather(base, cur, TIME_METRIC, canary)
    scaled = [s / 1.2 for s in cur.samples]
    want = sps.mannwhitneyu(scaled, base.samples, alternative="two-sided").pvalue
    assert ev.p == pytest.approx(float(want), rel=1e-12)
    assert ev.sd_log == pytest.approx(pooled_log_sd(base.samples, scaled), rel=1e-12)
    assert (ev.n_baseline, ev.n_current, ev.normalised, ev.note) == (30, 25, True, "")
    raw = ratio_of_medians(base.samples, cur.samples)
    assert ev.estimate is not None
    assert ev.estimate.ratio == pytest.approx(raw.ratio / 1.2, rel=1e-12)
    assert np.array_equal(ev.estimate.log_replicates, raw.log_replicates - reps)


def test_throughput_evidence_is_the_inverse_of_the_time_ratio() -> None:
    base = case(V, 64, samples(1.0, 30, 0.03, 1))
    cur = case(V, 64, samples(2.0, 30, 0.03, 2))
    for metric in ("throughput/tflops", "throughput/gbps", "throughput/tokens_per_s"):
        base.metrics[metric], cur.metrics[metric] = 8.0, 4.0
        ev = gather(base, cur, metric)
        time = ratio_of_medians(base.samples, cur.samples)
        assert ev.estimate is not None, metric
        assert (ev.estimate.ratio, ev.estimate.ci_low, ev.estimate.ci_high) == pytest.approx(
            (1 / time.ratio, 1 / time.ci_high, 1 / time.ci_low), rel=1e-12
        )
        assert (ev.baseline, ev.current, ev.normalised) == (8.0, 4.0, False)
        assert ev.change_ms == pytest.approx(
            abs(float(np.median(cur.samples)) - float(np.median(base.samples)))
        )
    # a throughput metric not stored stays unknown (no fallback as for the median time)
    del base.metrics["throughput/gbps"]
    assert gather(base, cur, "throughput/gbps").baseline is None


def test_the_decision_p_is_the_larger_of_the_two() -> None:
    est = RatioEstimate(1.1, 1.05, 1.15)
    assert Evidence(1.0, 1.1, est, p=0.01, p_run=0.2).p_decision == 0.2
    assert Evidence(1.0, 1.1, est, p=0.3, p_run=0.2).p_decision == 0.3
    assert Evidence(1.0, 1.1, est, p=0.01).p_decision == 0.01
    assert Evidence(1.0, 1.1, est, p_run=0.2).p_decision is None


def test_unjudged_cases_carry_their_variant_and_reason_word_for_word() -> None:
    from attnbench.compare.policy import Policy, Rule

    base = run([case(V, 64, samples(1.0)), case(V, 128, status="failed"),
                case(V, 256, samples(1.0))])  # fmt: skip
    cur = run([case(V, 64, samples(1.0)), case(V, 128, samples(1.0)),
               case(V, 256, samples(1.0))])  # fmt: skip
    policy = Policy(rules=(Rule(match="*-n256-*", ignore=True),))
    result = gate_runs(base, cur, defaults=CaseSettings(), policy=policy)
    by_n = {c.case_id.split("-n")[1].split("-")[0]: c for c in result.cases}
    assert (by_n["128"].verdict, by_n["128"].reason, by_n["128"].variant) == (
        "new", "failed in the baseline, ok now", V)
    assert (by_n["256"].verdict, by_n["256"].reason, by_n["256"].variant) == (
        "ignored", "ignored by policy", V)


def test_a_different_device_is_refused_with_the_way_out() -> None:
    from attnbench.errors import NotComparableError

    base = run([case(V, 64, samples(1.0))], device="CPU A")
    cur = run([case(V, 64, samples(1.0))], device="CPU B")
    with pytest.raises(NotComparableError) as info:
        gate_runs(base, cur, defaults=CaseSettings())
    assert str(info.value) == (
        "baseline and current cannot be gated against each other: device model differs: "
        "CPU A vs CPU B. Compare them with `attnbench compare`, or pass "
        "--allow-different-device."
    )
