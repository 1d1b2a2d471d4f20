"""Holm against hand-computed values, the bootstrap interval, Mann–Whitney, MDE, sample sizes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attnbench.compare.stats import (
    RESAMPLES,
    geomean,
    holm,
    mann_whitney_p,
    mde,
    mde_from,
    min_samples_for_level,
    ratio_of_medians,
    samples_needed,
)
from tests.compare.helpers import samples


def test_holm_hand_computed() -> None:
    # sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> 0.06)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_keeps_order() -> None:
    assert holm([0.5, 0.2]) == pytest.approx([0.5, 0.4])
    assert holm([0.9, 0.8, 0.7]) == pytest.approx([1.0, 1.0, 1.0])
    assert holm([0.04]) == pytest.approx([0.04])
    assert holm([]) == []


def test_holm_ties_get_equal_adjustment() -> None:
    assert holm([0.01, 0.01, 0.2]) == pytest.approx([0.03, 0.03, 0.2])


def test_holm_rejects_fewer_than_unadjusted() -> None:
    p = [0.001, 0.012, 0.02, 0.03, 0.5]
    adj = holm(p)
    assert sum(a <= 0.05 for a in adj) == 2  # 0.005, 0.048 pass; 0.06 stops the step-down
    assert adj[1] == pytest.approx(0.048)
    assert all(a >= x for a, x in zip(adj, p, strict=True))


def test_ratio_of_medians_point_and_interval() -> None:
    base, cur = samples(1.0, 60, 0.03, 1), samples(1.10, 60, 0.03, 2)
    est = ratio_of_medians(base, cur)
    assert est.ratio == pytest.approx(float(np.median(cur) / np.median(base)))
    assert est.ci_low < est.ratio < est.ci_high
    assert est.ci_low > 1.05 and est.ci_high < 1.15
    assert est.log_replicates.size == RESAMPLES
    again = ratio_of_medians(base, cur)
    assert (again.ci_low, again.ci_high) == (est.ci_low, est.ci_high)  # fixed seed


def test_interval_narrows_with_more_samples() -> None:
    few = ratio_of_medians(samples(1, 10, 0.05, 1), samples(1, 10, 0.05, 2))
    many = ratio_of_medians(samples(1, 400, 0.05, 1), samples(1, 400, 0.05, 2))
    assert many.ci_high - many.ci_low < (few.ci_high - few.ci_low) / 2


def test_ratio_rejects_nonpositive_or_empty() -> None:
    with pytest.raises(ValueError):
        ratio_of_medians([1.0, 0.0], [1.0])
    with pytest.raises(ValueError):
        ratio_of_medians([], [1.0])


def test_inverted_and_divided() -> None:
    est = ratio_of_medians(samples(1, 30, 0.02, 1), samples(2, 30, 0.02, 2))
    inv = est.inverted()
    assert inv.ratio == pytest.approx(1 / est.ratio)
    assert inv.ci_low == pytest.approx(1 / est.ci_high)
    assert inv.ci_high == pytest.approx(1 / est.ci_low)
    assert np.array_equal(inv.log_replicates, -est.log_replicates)
    same = est.divided(est)
    assert same.ratio == pytest.approx(1.0) and same.ci_low == pytest.approx(1.0)
    other = ratio_of_medians(samples(1, 30, 0.02, 3), samples(1.5, 30, 0.02, 4))
    both = est.divided(other)
    assert np.array_equal(both.log_replicates, est.log_replicates - other.log_replicates)
    assert both.ratio == pytest.approx(est.ratio / other.ratio)


def test_geomean_of_ratios() -> None:
    a = ratio_of_medians(samples(1, 30, 0.02, 1), samples(2, 30, 0.02, 2))
    b = ratio_of_medians(samples(1, 30, 0.02, 3), samples(0.5, 30, 0.02, 4))
    g = geomean([a, b])
    assert g.ratio == pytest.approx(math.sqrt(a.ratio * b.ratio))
    assert g.ci_low < g.ratio < g.ci_high
    with pytest.raises(ValueError):
        geomean([])


def test_mann_whitney() -> None:
    assert mann_whitney_p([1.0] * 5, [1.0] * 5) == 1.0
    assert mann_whitney_p(samples(1, 30, 0.01, 1), samples(1.1, 30, 0.01, 2)) < 1e-8
    assert mann_whitney_p(samples(1, 30, 0.05, 1), samples(1, 30, 0.05, 2)) > 0.05
    # exact test: 3 vs 3 completely separated gives 2 / C(6, 3) = 0.1
    assert mann_whitney_p([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)


def test_min_samples_for_level_boundaries() -> None:
    assert min_samples_for_level(0.1) == 3  # 2/20 = 0.1 reaches it
    assert min_samples_for_level(0.0999) == 4
    assert min_samples_for_level(0.05) == 4  # benchstat's "need >= 4 samples"
    assert min_samples_for_level(1.0) == 1  # 2 / C(2, 1) = 1: any one pair reaches it
    assert min_samples_for_level(0.34) == 2  # 2 / C(4, 2) = 1/3


def test_mde_grows_with_noise_and_shrinks_with_samples() -> None:
    assert mde_from(0.05, 3, 3, 0.05) == math.inf  # the test cannot reach 0.05 with 3 + 3
    assert mde_from(0.05, 4, 4, 0.05) < math.inf
    assert mde_from(0.02, 100, 100, 0.05) < mde_from(0.05, 100, 100, 0.05)
    assert mde_from(0.05, 400, 400, 0.05) < mde_from(0.05, 100, 100, 0.05)
    assert mde(samples(1, 50, 0.02, 1), samples(1, 50, 0.02, 2), 0.05) < 0.02


def test_samples_needed_inverts_mde() -> None:
    n = samples_needed(0.05, 0.05, 0.05)
    assert mde_from(0.05, n, n, 0.05) <= 0.05 < mde_from(0.05, n - 2, n - 2, 0.05)
    assert samples_needed(0.0, 0.05, 0.05) == min_samples_for_level(0.05)
    with pytest.raises(ValueError, match=r"^change must be positive$"):
        samples_needed(0.05, 0.0, 0.05)
    with pytest.raises(ValueError, match=r"^change must be positive$"):
        samples_needed(0.05, -0.01, 0.05)


def test_samples_needed_with_run_noise_at_its_edge() -> None:
    # The budget left after the run-to-run noise is exactly zero at log1p(change) / z.
    from attnbench.compare.stats import z_power

    edge = math.log1p(0.05) / z_power(0.05)
    with pytest.raises(ValueError, match=r"^the run-to-run noise alone is too large"):
        samples_needed(0.05, 0.05, 0.05, run_sd_log=edge)
    assert samples_needed(0.05, 0.05, 0.05, run_sd_log=edge * 0.999) > 1000
    budget = (math.log1p(0.05) / z_power(0.05)) ** 2 - 0.01**2
    expect = math.ceil(2 * (0.05 * math.sqrt(math.pi / 3)) ** 2 / budget)
    assert samples_needed(0.05, 0.05, 0.05, run_sd_log=0.01) == expect


# ------------------------------------------------ the methods, recomputed independently
def _bootstrap_log_ratios(base: list[float], cur: list[float]) -> np.ndarray:
    """The documented bootstrap, written out: one generator seeded 0, current side first."""
    rng = np.random.default_rng(0)
    c, b = np.asarray(cur), np.asarray(base)
    cur_medians = np.median(c[rng.integers(0, len(c), size=(2000, len(c)))], axis=1)
    base_medians = np.median(b[rng.integers(0, len(b), size=(2000, len(b)))], axis=1)
    return np.log(cur_medians) - np.log(base_medians)


def test_the_interval_is_the_2_5_and_97_5_percentiles_of_the_bootstrap() -> None:
    base, cur = samples(1.0, 25, 0.05, 1), samples(1.2, 30, 0.05, 2)
    reps = _bootstrap_log_ratios(base, cur)
    est = ratio_of_medians(base, cur)
    assert np.array_equal(est.log_replicates, reps)
    assert est.ci_low == pytest.approx(math.exp(float(np.quantile(reps, 0.025))), rel=1e-12)
    assert est.ci_high == pytest.approx(math.exp(float(np.quantile(reps, 0.975))), rel=1e-12)
    assert est.ratio == float(np.median(cur) / np.median(base))


def test_a_long_sample_list_is_bootstrapped_in_chunks_with_the_same_result() -> None:
    # 1001 samples: 2e6 // 1001 = 1998 resamples per chunk, then a chunk of 2; the
    # generator's stream does not depend on the chunking, so the replicates equal one matrix's
    base, cur = samples(1.0, 10, 0.05, 1), samples(1.1, 1001, 0.05, 2)
    assert np.array_equal(ratio_of_medians(base, cur).log_replicates,
                          _bootstrap_log_ratios(base, cur))  # fmt: skip


def test_geomean_interval_is_from_the_mean_of_the_log_replicates() -> None:
    a = ratio_of_medians(samples(1, 12, 0.05, 1), samples(2, 12, 0.05, 2))
    b = ratio_of_medians(samples(1, 20, 0.05, 3), samples(0.5, 20, 0.05, 4))
    c = ratio_of_medians(samples(1, 30, 0.05, 5), samples(1.1, 30, 0.05, 6))
    g = geomean([a, b, c])
    reps = (a.log_replicates + b.log_replicates + c.log_replicates) / 3
    assert g.log_replicates == pytest.approx(reps, rel=1e-12)
    assert g.ratio == pytest.approx((a.ratio * b.ratio * c.ratio) ** (1 / 3), rel=1e-12)
    assert g.ci_low == pytest.approx(math.exp(float(np.quantile(reps, 0.025))), rel=1e-12)
    assert g.ci_high == pytest.approx(math.exp(float(np.quantile(reps, 0.975))), rel=1e-12)


def test_divided_interval_is_from_the_difference_of_the_log_replicates() -> None:
    a = ratio_of_medians(samples(1, 30, 0.05, 1), samples(2, 30, 0.05, 2))
    b = ratio_of_medians(samples(1, 30, 0.05, 3), samples(1.5, 30, 0.05, 4))
    d = a.divided(b)
    reps = a.log_replicates - b.log_replicates
    assert d.ci_low == pytest.approx(math.exp(float(np.quantile(reps, 0.025))), rel=1e-12)
    assert d.ci_high == pytest.approx(math.exp(float(np.quantile(reps, 0.975))), rel=1e-12)


def test_ratio_and_mean_refusals_say_why() -> None:
    with pytest.raises(ValueError, match=r"^a ratio needs samples on both sides$"):
        ratio_of_medians([], [1.0])
    with pytest.raises(ValueError, match=r"^a ratio needs samples on both sides$"):
        ratio_of_medians([1.0], [])
    with pytest.raises(ValueError, match=r"^samples must be positive to form a ratio$"):
        ratio_of_medians([1.0, 0.0], [1.0])
    with pytest.raises(ValueError, match=r"^samples must be positive to form a ratio$"):
        ratio_of_medians([1.0], [2.0, -1.0])
    with pytest.raises(ValueError, match=r"^samples must be positive to form a ratio$"):
        ratio_of_medians([1.0], [2.0, 0.0])
    with pytest.raises(ValueError, match=r"^geometric mean of no ratios$"):
        geomean([])


def test_z_power_is_the_sum_of_the_two_normal_quantiles() -> None:
    from attnbench.compare.stats import z_power

    assert z_power(0.05) == pytest.approx(1.959964 + 0.841621, abs=1e-6)
    assert z_power(0.01) == pytest.approx(2.575829 + 0.841621, abs=1e-6)


def test_mde_formula_by_hand() -> None:
    # exp(z · s · √(π/3) · √(1/n1 + 1/n2)) − 1 with z = 2.801585 at α = 0.05
    want = math.expm1(2.8015852 * 0.03 * math.sqrt(math.pi / 3) * math.sqrt(1 / 10 + 1 / 40))
    assert mde_from(0.03, 10, 40, 0.05) == pytest.approx(want, rel=1e-6)
    base, cur = samples(1, 30, 0.03, 1), samples(1, 20, 0.03, 2)
    from attnbench.compare.stats import pooled_log_sd

    sd = pooled_log_sd(base, cur)
    assert mde(base, cur, 0.05) == pytest.approx(
        math.expm1(2.8015852 * sd * math.sqrt(math.pi / 3) * math.sqrt(1 / 30 + 1 / 20)),
        rel=1e-6,
    )


def test_mde_exactly_where_the_test_can_reach_the_level() -> None:
    # 3 + 3 separated samples reach exactly p = 2 / C(6, 3) = 0.1
    assert mde_from(0.05, 3, 3, 0.1) < math.inf
    assert mde_from(0.05, 3, 3, math.nextafter(0.1, 0.0)) == math.inf
    # one sample against 39: the smallest p is 2 / 40 = 0.05, enough at 0.05
    assert mde_from(0.05, 1, 39, 0.05) < math.inf
    assert mde_from(0.05, 39, 1, 0.05) < math.inf
    assert mde_from(0.05, 1, 38, 0.05) == math.inf
    assert mde_from(0.05, 0, 40, 0.05) == math.inf
    assert mde_from(0.05, 40, 0, 0.05) == math.inf


def test_samples_needed_by_hand() -> None:
    # n = 2 (s √(π/3))² z² / log1p(change)², rounded up
    z = 2.8015852181129683
    expect = math.ceil(2 * (0.05 * math.sqrt(math.pi / 3)) ** 2 * z**2 / math.log1p(0.03) ** 2)
    assert samples_needed(0.05, 0.03, 0.05) == expect
