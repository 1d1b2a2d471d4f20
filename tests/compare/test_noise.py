"""The run-to-run noise model: Qn, canary wander, case spread, and what the gate does with them."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats as sps

from attnbench.compare.gate import gate_runs
from attnbench.compare.noise import (
    BULK_CUT,
    MIN_CASES,
    RunNoise,
    bulk,
    case_spread,
    common_shift,
    describe,
    machine_wander,
    qn_scale,
    satterthwaite,
    se_log,
    wander,
)
from attnbench.compare.policy import CaseSettings
from attnbench.compare.stats import RatioEstimate, samples_needed, z_power
from attnbench.results.schema import RunResult
from tests.compare.helpers import case, run, samples

V = "softmax.naive"
W = "softmax.sdpa"


def _with_points(r: RunResult, medians: list[float]) -> RunResult:
    """``r`` with canary checkpoints whose medians are exactly ``medians`` (ms)."""
    r.run["canary"]["points"] = [
        {"phase": f"p{i}", "samples_ms": [m * 0.99, m, m * 1.01]} for i, m in enumerate(medians)
    ]
    return r


# Qn -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [8, 9, 12, 13, 200])
def test_qn_estimates_a_normal_standard_deviation(n: int) -> None:
    rng = np.random.default_rng(n)
    mean = np.mean([qn_scale(rng.normal(0, 0.1, n)) for _ in range(400)])
    assert mean == pytest.approx(0.1, rel=0.06)


def test_qn_is_unmoved_by_half_the_values_shifted() -> None:
    rng = np.random.default_rng(0)
    mixed = np.concatenate([rng.normal(0, 0.01, 50), rng.normal(0.3, 0.01, 50)])
    assert qn_scale(mixed) < 0.03  # the IQR of the same values is ~0.3
    assert np.subtract(*np.quantile(mixed, [0.75, 0.25])) > 0.25


def test_qn_of_many_values_uses_a_bounded_subsample() -> None:
    values = np.random.default_rng(1).normal(0, 0.05, 20_000)
    assert qn_scale(values) == pytest.approx(0.05, rel=0.05)
    assert qn_scale([1.0]) == 0.0


# machine wander -----------------------------------------------------------------------


def test_wander_pools_every_checkpoint_when_not_normalised() -> None:
    base = _with_points(run([]), [1.0, 1.0, 1.0])
    cur = _with_points(run([]), [1.2, 1.2, 1.2])
    sd, points = machine_wander(base, cur, normalised=False)
    logs = [0.0] * 3 + [math.log(1.2)] * 3
    assert points == 6 and sd == pytest.approx(float(np.std(logs, ddof=1)))


def test_wander_is_within_each_run_when_the_shift_is_divided_out() -> None:
    base = _with_points(run([]), [1.0, 1.0, 1.0])
    cur = _with_points(run([]), [1.2, 1.2, 1.2])
    assert machine_wander(base, cur, normalised=True) == (0.0, 6)
    wobbly = _with_points(run([]), [1.0, 1.1, 1.0])
    sd, _ = machine_wander(base, wobbly, normalised=True)
    logs = np.log([1.0, 1.1, 1.0])
    assert sd == pytest.approx(math.sqrt(np.sum((logs - logs.mean()) ** 2) / 4))


def test_no_canary_no_wander() -> None:
    assert machine_wander(run([], canary_ms=None), run([], canary_ms=None), False) == (0.0, 0)
    assert wander(run([], canary_ms=None), run([], canary_ms=None), False) == (0.0, 0, 0)


def test_wander_degrees_of_freedom() -> None:
    base = _with_points(run([]), [1.0, 1.1, 1.0])
    cur = _with_points(run([]), [1.2, 1.2, 1.3])
    assert wander(base, cur, normalised=False)[1:] == (6, 5)  # one mean over 6 checkpoints
    assert wander(base, cur, normalised=True)[1:] == (6, 4)  # a mean per run
    one = _with_points(run([]), [1.0])
    assert wander(one, cur, normalised=True)[1:] == (4, 2)  # a run of one point adds none


# case spread -------------------------------------------------------------------------


def _estimates(logs: list[float], se: float) -> list[RatioEstimate]:
    rng = np.random.default_rng(0)
    return [
        RatioEstimate(
            math.exp(x), math.exp(x - 2 * se), math.exp(x + 2 * se), rng.normal(x, se, 2000)
        )
        for x in logs
    ]


def _normal_logs(n: int, sd: float) -> list[float]:
    """``n`` evenly spaced quantiles of a normal law (none beyond 2.5 sd for n <= 80)."""
    return [float(x) for x in sps.norm.ppf((np.arange(n) + 0.5) / n) * sd]


def test_spread_beyond_the_samples_noise_is_the_case_spread() -> None:
    logs = _normal_logs(40, 0.1)
    tau = case_spread(_estimates(logs, 0.01))
    assert tau == pytest.approx(math.sqrt(qn_scale(logs) ** 2 - 0.01**2), rel=0.02)
    assert 0.08 < tau < 0.12


def test_the_bulk_leaves_out_a_quarter_of_the_cases_changed_by_many_spreads() -> None:
    # 36 unchanged cases spread 1.4%, 12 changed by 10%: Qn over all 48 is inflated by the
    # changed ones; the bulk is the 36, and its spread and centre are theirs.
    null = _normal_logs(36, 0.014)
    changed = [0.0953 + x / 10 for x in _normal_logs(12, 0.014)]
    ests = _estimates(null + changed, 0.001)
    core = bulk(ests)
    assert [e.ratio for e in core] == [e.ratio for e in ests[:36]]
    assert qn_scale([*null, *changed]) > 1.3 * qn_scale(null)
    assert case_spread(ests) == pytest.approx(math.sqrt(qn_scale(null) ** 2 - 0.001**2), rel=0.02)
    shift = common_shift(ests, case_spread(ests))
    assert shift is not None and shift[0] == pytest.approx(float(np.median(null)), abs=1e-12)


def test_the_bulk_keeps_a_case_exactly_at_the_cut_and_drops_one_beyond() -> None:
    null = _normal_logs(20, 0.02)
    edge = BULK_CUT * qn_scale(null)  # the bulk's median is 0: an outlier moves neither much
    at = bulk(_estimates([*null, edge * 0.999], 0.001))
    beyond = bulk(_estimates([*null, edge * 1.2], 0.001))
    assert len(at) == 21 and len(beyond) == 20


def test_a_bulk_too_small_keeps_every_usable_case() -> None:
    # 8 cases, three of them far out: keeping 5 would leave too few to measure a spread.
    logs = [0.0, 0.001, -0.001, 0.002, -0.002, 0.5, 0.6, -0.7]
    ests = _estimates(logs, 0.001)
    assert len(bulk(ests)) == 8
    assert len(bulk(ests[:7])) == 7  # fewer than MIN_CASES: nothing is cut


def test_spread_explained_by_the_samples_noise_is_zero() -> None:
    logs = list(np.random.default_rng(3).normal(0, 0.01, 40))
    assert case_spread(_estimates(logs, 0.05)) == 0.0


def test_too_few_cases_for_a_spread() -> None:
    logs = [0.3, -0.3, 0.2, -0.2, 0.1, -0.1, 0.0]
    assert len(logs) == MIN_CASES - 1 and case_spread(_estimates(logs, 0.001)) == 0.0
    assert case_spread(_estimates([*logs, 0.05], 0.001)) > 0.1


# the RunNoise object -----------------------------------------------------------------


def test_p_against_noise_is_a_two_sided_normal_p() -> None:
    noise = RunNoise(case_sd_log=0.03, machine_sd_log=0.04)
    assert noise.sd_log == pytest.approx(0.05)
    assert noise.total_sd_log(0.12) == pytest.approx(0.13)
    assert noise.p(1.959964 * 0.13, 0.12) == pytest.approx(0.05, rel=1e-4)
    assert noise.p(-1.959964 * 0.13, 0.12) == pytest.approx(0.05, rel=1e-4)
    assert RunNoise().p(0.0, 0.0) == 1.0 and RunNoise().p(0.01, 0.0) == 0.0


def test_widening_adds_in_quadrature_and_averages_only_the_case_spread() -> None:
    est = RatioEstimate(1.0, math.exp(-0.03), math.exp(0.04))
    wide = RunNoise(case_sd_log=0.02, machine_sd_log=0.0).widened(est)
    assert math.log(wide.ci_high) == pytest.approx(math.hypot(0.04, 1.959964 * 0.02), rel=1e-5)
    assert math.log(wide.ci_low) == pytest.approx(-math.hypot(0.03, 1.959964 * 0.02), rel=1e-5)
    four = RunNoise(case_sd_log=0.02).widened(est, shared=4)
    assert math.log(four.ci_high) == pytest.approx(math.hypot(0.04, 1.959964 * 0.01), rel=1e-5)
    machine = RunNoise(machine_sd_log=0.02).widened(est, shared=4)
    assert machine.ci_high == pytest.approx(wide.ci_high)
    assert RunNoise().widened(est) is est


def test_satterthwaite_degrees_of_freedom() -> None:
    assert satterthwaite([(1.0, 4.0), (1.0, math.inf)]) == pytest.approx(16.0)
    assert satterthwaite([(1.0, 4.0), (1.0, 4.0)]) == pytest.approx(8.0)
    assert satterthwaite([(0.5, 3.0)]) == pytest.approx(3.0)
    assert satterthwaite([(1.0, math.inf), (0.0, 2.0)]) == math.inf
    assert satterthwaite([]) == math.inf


def test_p_with_estimated_terms_is_a_student_p() -> None:
    # the canary's wander from 6 checkpoints (4 degrees of freedom), nothing else
    noise = RunNoise(machine_sd_log=0.1, machine_dof=4)
    assert noise.absolute_dof(0.0) == pytest.approx(4.0)
    assert noise.p_absolute(0.3, 0.0) == pytest.approx(2 * sps.t.sf(3.0, 4), rel=1e-9)
    assert noise.p_absolute(0.3, 0.0) > 10 * math.erfc(3.0 / math.sqrt(2))
    # exact sample noise dilutes the estimated term: more degrees of freedom
    assert noise.absolute_dof(0.1) == pytest.approx(16.0)
    # the relative route counts the spread's and the shift's terms with the spread's dof
    rel = RunNoise(0.03, 0.5, shift_log=0.0, shift_se_log=0.04, case_dof=9.0)
    assert rel.relative_dof(0.0) == pytest.approx(0.05**4 / (0.03**4 / 9 + 0.04**4 / 9))
    assert rel.p_relative(0.15, 0.0) == pytest.approx(2 * sps.t.sf(3.0, rel.relative_dof(0.0)))


def test_detectable_change_uses_each_routes_quantile() -> None:
    exact = RunNoise(case_sd_log=0.03, machine_sd_log=0.04)
    assert exact.detect_log(0.0, 0.01) == pytest.approx(z_power(0.01) * 0.05)
    few = RunNoise(case_sd_log=0.03, machine_sd_log=0.04, case_dof=5.0, machine_dof=4.0)
    dof = few.absolute_dof(0.0)
    assert few.detect_log(0.0, 0.01) == pytest.approx(z_power(0.01, dof) * 0.05)
    assert z_power(0.01, dof) == pytest.approx(sps.t.ppf(0.995, dof) + sps.norm.ppf(0.8))
    # two routes share the level; the easier one (here the relative) sets the figure
    both = RunNoise(0.01, 0.2, shift_log=0.0, shift_se_log=0.01, case_dof=20.0, machine_dof=4.0)
    rel_sd = math.hypot(0.01, 0.01)
    assert both.detect_log(0.0, 0.01) == pytest.approx(
        z_power(0.005, both.relative_dof(0.0)) * rel_sd
    )


def test_samples_needed_leaves_room_for_run_noise() -> None:
    plain = samples_needed(0.05, 0.05, 0.05)
    assert samples_needed(0.05, 0.05, 0.05, run_sd_log=0.01) > plain
    with pytest.raises(ValueError, match="run-to-run noise alone"):
        samples_needed(0.05, 0.05, 0.05, run_sd_log=0.02)


# the gate ---------------------------------------------------------------------------------


def _aa(offset_sd: float, slowed: dict[int, float], seed: int = 5) -> tuple[RunResult, RunResult]:
    """12 cases; each current case moved by its own run-to-run offset (log-sd ``offset_sd``)
    and, for the indexes in ``slowed``, by a planted factor."""
    rng = np.random.default_rng(seed)
    ns = [16 * (i + 1) for i in range(12)]
    base = run([case(V, n, samples(1.0, 40, 0.01, i)) for i, n in enumerate(ns)])
    cur = run([
        case(V, n, samples(math.exp(rng.normal(0, offset_sd)) * slowed.get(i, 1.0), 40, 0.01,
                           100 + i))
        for i, n in enumerate(ns)
    ])  # fmt: skip
    return base, cur


def test_run_to_run_offsets_are_not_regressions() -> None:
    base, cur = _aa(0.10, {})
    result = gate_runs(base, cur, defaults=CaseSettings())
    assert result.noise.case_sd_log == pytest.approx(0.10, rel=0.5)
    assert result.counts()["slower"] == 0 and result.exit_code == 0
    moved = [c for c in result.cases if c.estimate and abs(math.log(c.estimate.ratio)) > 0.1]
    assert moved and all(c.verdict == "ambiguous" for c in moved)
    # The samples alone call each of these significant: only the run-to-run test holds them.
    assert all(c.evidence and c.evidence.p is not None and c.evidence.p < 1e-6 for c in moved)
    assert all("run-to-run noise" in c.reason for c in moved)
    assert "run-to-run noise ±" in result.noise.note


def test_planted_slowdowns_on_a_quiet_machine_are_named_exactly() -> None:
    base, cur = _aa(0.005, {1: 1.10, 4: 1.10, 9: 1.10})
    result = gate_runs(base, cur, defaults=CaseSettings())
    slower = sorted(int(c.case_id.split("-n")[1].split("-")[0]) for c in result.cases
                    if c.verdict == "slower")  # fmt: skip
    assert slower == [32, 80, 160] and result.exit_code == 1
    assert result.noise.sd_log < 0.02


def test_a_quarter_of_a_larger_suite_slowed_on_a_steady_machine_is_named_exactly() -> None:
    # 48 cases, each moved by its own run-to-run offset (log-sd 1.4%, even quantiles in a
    # fixed shuffled order), every fourth slowed 10%: the spread is the unchanged cases', not
    # one inflated by the slowed quarter, and every slowed case is confirmed.
    offsets = np.random.default_rng(2).permutation(_normal_logs(48, 0.014))
    ns = [16 * (i + 1) for i in range(48)]
    base = run([case(V, n, samples(1.0, 60, 0.02, i)) for i, n in enumerate(ns)])
    cur = run([
        case(V, n, samples(math.exp(offsets[i]) * (1.10 if i % 4 == 0 else 1.0), 60, 0.02,
                           200 + i))
        for i, n in enumerate(ns)
    ])  # fmt: skip
    result = gate_runs(base, cur, defaults=CaseSettings())
    slower = sorted(c.case_id for c in result.cases if c.verdict == "slower")
    assert slower == sorted(base.cases[i].case_id for i in range(0, 48, 4))
    assert result.noise.bulk == 36 and result.noise.cases == 48
    assert result.noise.case_sd_log == pytest.approx(0.014, rel=0.3)
    assert "case spread ±" in result.noise.note and "from 36 of 48 cases" in result.noise.note


def test_the_decision_p_is_the_larger_of_the_two() -> None:
    base, cur = _aa(0.10, {})
    result = gate_runs(base, cur, defaults=CaseSettings())
    for c in result.cases:
        ev = c.evidence
        assert ev is not None and ev.p is not None and ev.p_run is not None
        assert ev.p_decision == max(ev.p, ev.p_run)
        assert c.p_adjusted is not None and c.p_adjusted >= ev.p_decision


def test_too_much_noise_for_any_number_of_samples_is_said() -> None:
    base, cur = _aa(0.10, {})
    result = gate_runs(base, cur, defaults=CaseSettings())
    ambiguous = [c for c in result.cases if c.verdict == "ambiguous"]
    assert ambiguous and all(c.samples_needed is None for c in ambiguous)
    assert all("with any number of samples" in c.reason for c in ambiguous)
    assert all(c.mde is not None and c.mde > 0.2 for c in ambiguous)


def test_a_shared_change_stays_detectable_when_the_canary_is_steady() -> None:
    # Every kernel 10% slower, the canary steady: the spread is small, the centre moved.
    ns = [16 * (i + 1) for i in range(12)]
    base = run([case(V, n, samples(1.0, 40, 0.01, i)) for i, n in enumerate(ns)])
    cur = run([case(V, n, samples(1.10, 40, 0.01, 50 + i)) for i, n in enumerate(ns)])
    result = gate_runs(base, cur, defaults=CaseSettings())
    assert result.counts()["slower"] == 12


def test_one_variant_regressing_does_not_hide_itself_in_the_spread() -> None:
    ns = [16 * (i + 1) for i in range(8)]
    base = run([case(v, n, samples(1.0, 40, 0.01, i + k)) for k, v in enumerate((V, W))
                for i, n in enumerate(ns)])  # fmt: skip
    cur = run([case(v, n, samples(1.3 if v == V else 1.0, 40, 0.01, 70 + i + k))
               for k, v in enumerate((V, W)) for i, n in enumerate(ns)])  # fmt: skip
    result = gate_runs(base, cur, defaults=CaseSettings())
    assert {c.variant for c in result.cases if c.verdict == "slower"} == {V}
    assert result.counts()["slower"] == 8 and result.noise.case_sd_log < 0.05


# the relative route ------------------------------------------------------------------------


def test_common_shift_is_the_median_log_ratio_with_its_standard_error() -> None:
    logs = [0.01 * i for i in range(-5, 6)]  # 11 cases, median 0
    ests = _estimates([x + 0.2 for x in logs], 0.02)
    got = common_shift(ests, 0.03)
    assert got is not None
    within = float(np.median([se_log(e) ** 2 for e in ests]))
    assert got[0] == pytest.approx(0.2)
    assert got[1] == pytest.approx(math.sqrt(math.pi / 2 * (0.03**2 + within) / 11))
    assert common_shift(ests[: MIN_CASES - 1], 0.03) is None
    assert common_shift(ests[:MIN_CASES], 0.03) is not None


def test_the_two_routes_and_their_bonferroni_factor() -> None:
    noise = RunNoise(case_sd_log=0.03, machine_sd_log=0.2, shift_log=0.05, shift_se_log=0.04)
    assert noise.routes == 2 and RunNoise(0.03, 0.2).routes == 1
    assert noise.relative_sd_log(0.0) == pytest.approx(0.05)
    assert noise.detect_sd_log(0.0) == pytest.approx(0.05)
    assert RunNoise(0.03, 0.01, shift_log=0.0, shift_se_log=0.3).detect_sd_log(0.0) == (
        pytest.approx(math.hypot(0.03, 0.01))
    )
    # 0.05 + 1.96 × 0.05 is at p = 0.05 about the bulk; the absolute route sees far less
    log_r = 0.05 + 1.959964 * 0.05
    assert noise.p_relative(log_r, 0.0) == pytest.approx(0.05, rel=1e-4)
    assert noise.p_absolute(log_r, 0.0) == pytest.approx(
        math.erfc(log_r / math.hypot(0.03, 0.2) / math.sqrt(2))
    )
    assert noise.p(log_r, 0.0) == pytest.approx(0.10, rel=1e-4)
    # without a shift the absolute p stands alone, undoubled
    alone = RunNoise(case_sd_log=0.03, machine_sd_log=0.2)
    assert alone.p(log_r, 0.0) == alone.p_absolute(log_r, 0.0)
    assert alone.p_relative(log_r, 0.0) == 1.0


def test_a_case_that_moved_less_than_the_bulk_gains_nothing_from_the_bulk() -> None:
    noise = RunNoise(case_sd_log=0.01, machine_sd_log=0.3, shift_log=0.25, shift_se_log=0.005)
    assert noise.p_relative(0.10, 0.0) == 1.0  # 10% slower while everything moved 28%
    assert noise.p_relative(-0.10, 0.0) < 1e-6  # faster than the bulk, and faster than before
    assert noise.p_relative(0.5, 0.0) < 1e-6  # slower than before, and than the bulk
    assert noise.p_relative(0.0, 0.0) == 1.0
    zero = RunNoise(shift_log=0.0)
    assert zero.p_relative(0.01, 0.0) == 0.0 and zero.p_relative(0.0, 0.0) == 1.0


def _wandering(n_cases: int, wander: list[float]) -> RunResult:
    ns = [16 * (i + 1) for i in range(n_cases)]
    r = run([case(V, n, samples(1.0, 40, 0.01, i)) for i, n in enumerate(ns)])
    return _with_points(r, wander)


def _slow_copy(r: RunResult, factor: float, which: set[int]) -> RunResult:
    cur = run([
        case(V, c.params["seq_len"], [s * factor for s in c.samples] if i in which else c.samples)
        for i, c in enumerate(r.cases)
    ])  # fmt: skip
    cur.run["canary"] = r.run["canary"]
    return cur


def test_a_slowed_copy_of_a_run_whose_canary_wandered_names_exactly_the_slowed() -> None:
    # The canary's checkpoints wandered by about 15% within the run. A copy of the run has the
    # same canary and the same samples: only the two slowed cases moved.
    base = _wandering(12, [0.30, 0.36, 0.27])
    cur = _slow_copy(base, 1.10, {2, 7})
    result = gate_runs(base, cur, defaults=CaseSettings())
    assert result.noise.machine_sd_log > 0.1
    slower = sorted(c.case_id for c in result.cases if c.verdict == "slower")
    assert slower == sorted(base.cases[i].case_id for i in (2, 7))
    assert result.exit_code == 1
    assert result.noise.shift_log == pytest.approx(0.0, abs=1e-12)
    assert "common shift +0.0%" in result.noise.note
    # with fewer cases than MIN_CASES there is no bulk to measure against: not confirmed
    few = _wandering(MIN_CASES - 1, [0.30, 0.36, 0.27])
    few_result = gate_runs(few, _slow_copy(few, 1.10, {2}), defaults=CaseSettings())
    assert few_result.counts()["slower"] == 0
    assert few_result.noise.shift_log is None
    assert "common shift" not in few_result.noise.note


def test_a_machine_shift_the_canary_missed_is_no_regression_by_the_relative_route() -> None:
    # Everything moved 30% (the machine), the canary wandered too much to tell: a case 10%
    # slower is less slow than the bulk; one 60% slower stands out from it.
    base = _wandering(12, [0.30, 0.40, 0.25])
    cur = run([
        case(V, c.params["seq_len"], [s * {3: 1.10, 8: 1.60}.get(i, 1.30) for s in c.samples])
        for i, c in enumerate(base.cases)
    ])  # fmt: skip
    cur.run["canary"] = base.run["canary"]
    result = gate_runs(base, cur, defaults=CaseSettings())
    verdict = {c.case_id: c.verdict for c in result.cases}
    assert verdict[base.cases[8].case_id] == "slower"
    assert verdict[base.cases[3].case_id] != "slower"
    assert result.counts()["slower"] == 1


def test_an_older_files_matmul_canary_gives_each_runs_own_wander() -> None:
    base = _with_points(run([]), [0.30, 0.33, 0.27])
    base.run["canary"].update(kernel="matmul_fp32", size=192)
    del base.run["canary"]["shape"]
    cur = _with_points(run([]), [3.0, 3.0, 3.0])  # another kernel: another level
    sigma, points = machine_wander(base, cur, normalised=False)
    assert points == 6
    assert sigma == pytest.approx(machine_wander(base, cur, normalised=True)[0])
    assert sigma < 0.1  # the two levels are never pooled


# exact values at the edges ----------------------------------------------------------------


def _qn_by_hand(values: list[float]) -> float:
    """Qn from its definition: the C(h, 2)-th smallest pairwise distance, h = n // 2 + 1,
    times 2.2219 and the small-sample factor (0.669 at 8, 0.872 at 9, n/(n+1.4) odd,
    n/(n+3.8) even above)."""
    n = len(values)
    distances = sorted(abs(a - b) for i, a in enumerate(values) for b in values[i + 1 :])
    h = n // 2 + 1
    factor = {8: 0.669, 9: 0.872}.get(n) or (n / (n + 1.4) if n % 2 else n / (n + 3.8))
    return 2.2219 * factor * distances[h * (h - 1) // 2 - 1]


@pytest.mark.parametrize("n", [2, 3, 8, 9, 10, 11, 25, 40])
def test_qn_matches_its_definition(n: int) -> None:
    values = [float(x) for x in np.random.default_rng(n).lognormal(0, 0.5, n)]
    assert qn_scale(values) == pytest.approx(_qn_by_hand(values), rel=1e-12)


def test_qn_of_two_values_is_their_scaled_distance() -> None:
    assert qn_scale([0.0, 1.0]) == pytest.approx(2.2219 * 2 / 5.8)
    assert qn_scale([]) == 0.0


def test_qn_of_a_large_sample_takes_evenly_spaced_order_statistics_from_the_first() -> None:
    values = np.random.default_rng(4).standard_cauchy(4001)
    picked = np.sort(values)[np.linspace(0, 4000, 2000).round().astype(int)]
    assert qn_scale(values) == qn_scale(picked)


def test_se_log_needs_two_replicates() -> None:
    one = RatioEstimate(1.1, 1.0, 1.2, np.array([0.1]))
    none = RatioEstimate(1.1, 1.0, 1.2, np.array([]))
    two = RatioEstimate(1.1, 1.0, 1.2, np.array([0.1, 0.3]))
    assert se_log(one) == 0.0 and se_log(none) == 0.0
    assert se_log(two) == pytest.approx(math.sqrt(0.02))


def test_each_routes_uncertainty_and_degrees_of_freedom_by_hand() -> None:
    noise = RunNoise(0.03, 0.04, shift_log=0.0, shift_se_log=0.02, case_dof=9.0,
                     machine_dof=4.0)  # fmt: skip
    assert noise.relative_sd_log(0.06) == pytest.approx(math.sqrt(0.06**2 + 0.03**2 + 0.02**2))
    total = 0.01**2 + 0.03**2 + 0.04**2
    assert noise.absolute_dof(0.01) == pytest.approx(total**2 / (0.03**4 / 9 + 0.04**4 / 4))
    rel = 0.01**2 + 0.03**2 + 0.02**2
    assert noise.relative_dof(0.01) == pytest.approx(rel**2 / (0.03**4 / 9 + 0.02**4 / 9))
    # without a shift there is one route: the absolute uncertainty, however small the other
    assert RunNoise(0.03, 0.04).detect_sd_log(0.0) == pytest.approx(0.05)


def test_degrees_of_freedom_of_terms_not_estimated_are_null_in_json() -> None:
    unestimated = RunNoise(case_dof=7.0, machine_dof=4.0).to_dict()
    assert unestimated["case_dof"] is None and unestimated["machine_dof"] is None


def test_the_noise_line_names_the_bulk_only_when_it_left_cases_out() -> None:
    whole = RunNoise(0.03, 0.04, 12, 6, bulk=12)
    part = RunNoise(0.03, 0.04, 12, 6, bulk=10)
    assert "from" not in describe(whole, 12)
    assert "case spread ±3.0% from 10 of 12 cases)" in describe(part, 12)
    shifted = RunNoise(0.03, 0.04, 12, 6, shift_log=0.1, shift_se_log=0.01)
    assert "common shift +10.5% ±1.0%)" in describe(shifted, 12)
    assert "common shift -9.5% ±1.0%)" in describe(replace(shifted, shift_log=-0.1), 12)


def test_estimate_run_noise_records_every_term_and_its_degrees_of_freedom() -> None:
    from attnbench.compare.noise import estimate_run_noise

    null = _normal_logs(9, 0.02)
    ests = _estimates([*null, 0.5, 0.6, 0.7], 0.001)  # 12 cases, 3 far out: a bulk of 9
    base = _with_points(run([]), [1.0, 1.1, 1.0])
    cur = _with_points(run([]), [1.2, 1.2, 1.3])
    noise = estimate_run_noise(base, cur, ests, normalised=False)
    assert (noise.cases, noise.bulk, noise.checkpoints) == (12, 9, 6)
    assert noise.case_dof == pytest.approx(0.82 * 8)
    assert noise.machine_dof == 5
    assert noise.case_sd_log == pytest.approx(case_spread(ests))
    shift = common_shift(ests, noise.case_sd_log)
    assert shift is not None and (noise.shift_log, noise.shift_se_log) == pytest.approx(shift)
    assert noise.shift_se_log > 0
    # exactly MIN_CASES cases is enough; one fewer is not
    eight = estimate_run_noise(base, cur, _estimates(_normal_logs(8, 0.02), 0.001), False)
    assert (eight.cases, eight.bulk) == (8, 8) and eight.case_dof == pytest.approx(0.82 * 7)
    seven = estimate_run_noise(base, cur, _estimates(_normal_logs(7, 0.02), 0.001), False)
    assert (seven.cases, seven.bulk, seven.case_dof, seven.shift_log) == (0, 0, math.inf, None)
    # no canary: the machine term is not estimated, and not a zero-dof term either
    bare = estimate_run_noise(run([], canary_ms=None), run([], canary_ms=None), ests, False)
    assert bare.machine_dof == math.inf and bare.checkpoints == 0


def test_the_bulk_follows_a_shifted_centre() -> None:
    # every case 20% slower (the machine), a quarter 10% more: the bulk is the rest
    null = [0.18 + x for x in _normal_logs(36, 0.014)]
    changed = [0.18 + 0.0953 + x / 10 for x in _normal_logs(12, 0.014)]
    ests = _estimates(null + changed, 0.001)
    assert [e.ratio for e in bulk(ests)] == [e.ratio for e in ests[:36]]


def test_a_bulk_of_exactly_min_cases_is_kept() -> None:
    ests = _estimates([*_normal_logs(MIN_CASES, 0.01), 0.4, 0.5, -0.45], 0.001)
    assert [e.ratio for e in bulk(ests)] == [e.ratio for e in ests[:MIN_CASES]]


def test_wander_of_two_checkpoints_per_run_and_of_two_in_all() -> None:
    base = _with_points(run([]), [1.0, 1.2])
    cur = _with_points(run([]), [2.0, 2.4])
    sd, points, dof = wander(base, cur, normalised=True)
    half = math.log(1.2) / 2
    assert (points, dof) == (4, 2)
    assert sd == pytest.approx(math.sqrt(4 * half**2 / 2))
    one_each = wander(_with_points(run([]), [1.0]), _with_points(run([]), [1.2]), False)
    assert one_each[1:] == (2, 1)
    assert one_each[0] == pytest.approx(math.log(1.2) / math.sqrt(2))


def test_checkpoint_samples_that_are_not_positive_numbers_are_left_out() -> None:
    from attnbench.compare.noise import checkpoint_logs

    r = run([])
    r.run["canary"]["points"] = [
        {"phase": "start", "samples_ms": [0.0, -1.0, "fast", 2.0, 2.0]},
        "not a point",
        {"phase": "middle", "samples_ms": [0.0]},
        {"phase": "end", "samples_ms": "none"},
    ]
    assert checkpoint_logs(r) == [pytest.approx(math.log(2.0))]
