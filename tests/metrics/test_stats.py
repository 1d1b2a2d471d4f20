"""Statistics against values computed independently (numpy's type-7 quantiles)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnbench.metrics.stats import (
    median_interval_ranks,
    paired_ratio,
    quantile,
    rel_iqr,
    slope,
    summarize,
)


def test_summary_of_known_values() -> None:
    s = summarize([4.0, 1.0, 3.0, 2.0, 10.0])
    assert s.median_ms == 3.0
    assert (s.min_ms, s.max_ms) == (1.0, 10.0)
    assert s.mean_ms == 4.0
    assert (s.q1_ms, s.q3_ms) == (2.0, 4.0)
    assert s.rel_iqr == pytest.approx(2.0 / 3.0)
    assert s.stdev_ms == pytest.approx(math.sqrt(12.5))
    assert s.count == 5
    assert s.as_metrics()["time/samples"] == 5.0


@given(st.lists(st.floats(0.001, 1e6), min_size=1, max_size=60), st.floats(0, 1))
def test_quantile_matches_numpy(values: list[float], q: float) -> None:
    assert quantile(sorted(values), q) == pytest.approx(float(np.quantile(values, q)), rel=1e-9)


def test_rel_iqr_zero_median_is_inf() -> None:
    assert rel_iqr([0.0, 0.0, 0.0]) == math.inf


def test_slope() -> None:
    assert slope([1.0, 3.0, 5.0, 7.0]) == pytest.approx(2.0)
    assert slope([2.0]) == 0.0


def test_empty_inputs_raise() -> None:
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        quantile([], 0.5)


# ---------------------------------------------------------------- paired ratios
def _binom_cdf(k: int, n: int) -> float:
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


@pytest.mark.parametrize("n", [6, 7, 10, 11, 20, 57, 200])
def test_median_interval_ranks_are_the_tightest_with_95_percent(n: int) -> None:
    ranks = median_interval_ranks(n)
    assert ranks is not None
    j, coverage = ranks
    assert coverage == pytest.approx(1 - 2 * _binom_cdf(j - 1, n))
    assert coverage >= 0.95
    assert 1 - 2 * _binom_cdf(j, n) < 0.95  # one rank further in falls short


def test_median_interval_needs_six_values() -> None:
    assert median_interval_ranks(5) is None  # [min, max] of 5 covers only 93.75%
    assert median_interval_ranks(6) == (1, pytest.approx(1 - 2 / 64))


def test_paired_ratio_takes_per_round_ratios() -> None:
    # the baseline drifts 1 -> 10 ms; the member is always 1.5x the same round's baseline,
    # so unpaired medians would mix the drift in but the per-round ratio is exactly 1.5
    base = [1.0, 2.0, 4.0, 8.0, 10.0, 3.0, 5.0, 7.0, 9.0, 6.0]
    member = [1.5 * b for b in base]
    r = paired_ratio(member, base)
    assert r.pairs == 10
    assert r.ratio == pytest.approx(1.5)
    assert (r.ci_low, r.ci_high) == (pytest.approx(1.5), pytest.approx(1.5))
    assert r.half_width() == pytest.approx(0.0)


def test_paired_ratio_interval_is_the_order_statistics() -> None:
    # ratios 1.0, 1.1 ... 1.9 in scrambled rounds; n = 10 -> ranks 2 and 9: 1.1 and 1.8
    ratios = [1.3, 1.0, 1.9, 1.5, 1.1, 1.8, 1.2, 1.6, 1.4, 1.7]
    base = [2.0] * 10
    r = paired_ratio([x * 2.0 for x in ratios], base)
    assert r.ratio == pytest.approx(1.45)
    assert r.ci_low == pytest.approx(1.1) and r.ci_high == pytest.approx(1.8)
    assert r.coverage == pytest.approx(1 - 2 * 11 / 1024)


def test_paired_ratio_pairs_by_round_and_needs_pairs() -> None:
    r = paired_ratio([2.0, 2.0, 2.0, 9.0], [1.0, 1.0, 1.0])  # the 4th has no pair
    assert r.pairs == 3 and r.ratio == 2.0 and r.ci_low is None and r.half_width() is None
    with pytest.raises(ValueError):
        paired_ratio([1.0], [])


@pytest.mark.parametrize("q", [-0.01, 1.01, 2.0])
def test_quantile_outside_zero_one_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        quantile([1.0, 2.0], q)
    assert quantile([1.0, 2.0], 1.0) == 2.0 and quantile([1.0, 2.0], 0.0) == 1.0


def test_a_ratio_needs_a_usable_pair() -> None:
    with pytest.raises(ValueError, match="no paired rounds to take a ratio from"):
        paired_ratio([1.0, 2.0], [0.0, 0.0])


# ---------------------------------------------------------------- edges found by mutation
def test_empty_inputs_are_refused_with_their_messages() -> None:
    with pytest.raises(ValueError, match=r"^no samples to summarize$"):
        summarize([])
    with pytest.raises(ValueError, match=r"^quantile of an empty sequence$"):
        quantile([], 0.5)
    with pytest.raises(ValueError, match=r"^no paired rounds to take a ratio from$"):
        paired_ratio([1.0, 2.0], [0.0, -1.0])


def test_slope_of_two_points_is_their_difference() -> None:
    assert slope([1.0, 4.0]) == 3.0
    assert slope([5.0, 2.0]) == -3.0
    assert slope([]) == 0.0


def test_summary_of_one_and_two_samples() -> None:
    one = summarize([2.5])
    assert (one.median_ms, one.min_ms, one.max_ms, one.mean_ms) == (2.5, 2.5, 2.5, 2.5)
    assert (one.q1_ms, one.q3_ms, one.stdev_ms, one.rel_iqr, one.count) == (2.5, 2.5, 0.0, 0.0, 1)
    two = summarize([3.0, 1.0])
    assert two.stdev_ms == pytest.approx(math.sqrt(2.0))  # sample stdev: n - 1 = 1
    assert (two.q1_ms, two.median_ms, two.q3_ms) == (1.5, 2.0, 2.5)
    assert two.rel_iqr == 0.5


def test_relative_iqr_around_a_median_of_one_and_below() -> None:
    # median exactly 1 and a median under 1 are ordinary medians, not "zero"
    assert rel_iqr([0.5, 1.0, 2.5]) == pytest.approx((1.75 - 0.75) / 1.0)
    assert summarize([0.5, 1.0, 2.5]).rel_iqr == pytest.approx(1.0)
    assert summarize([0.2, 0.4, 0.6]).rel_iqr == pytest.approx(0.2 / 0.4)
    assert summarize([0.0, 0.0, 1.0]).rel_iqr == math.inf  # median 0


def test_summary_metrics_use_the_catalog_keys() -> None:
    s = summarize([4.0, 1.0, 3.0, 2.0, 10.0])
    assert s.as_metrics() == {
        "time/median_ms": 3.0,
        "time/min_ms": 1.0,
        "time/max_ms": 10.0,
        "time/mean_ms": 4.0,
        "time/q1_ms": 2.0,
        "time/q3_ms": 4.0,
        "time/stdev_ms": pytest.approx(math.sqrt(12.5)),
        "time/rel_iqr": pytest.approx(2.0 / 3.0),
        "time/samples": 5.0,
    }


def test_half_width_is_the_larger_relative_distance() -> None:
    from attnbench.metrics.stats import PairedRatio

    # 2.0 in [1.5, 2.2]: 10% above, 25% below -> 0.25
    assert PairedRatio(2.0, 1.5, 2.2, 10, 0.98).half_width() == pytest.approx(0.25)
    # 2.0 in [1.9, 3.0]: 50% above, 5% below -> 0.5
    assert PairedRatio(2.0, 1.9, 3.0, 10, 0.98).half_width() == pytest.approx(0.5)
    # a ratio of exactly 1 is an ordinary ratio
    assert PairedRatio(1.0, 0.9, 1.2, 10, 0.98).half_width() == pytest.approx(0.2)
    # no interval (either end missing) or no positive ratio: no half width
    assert PairedRatio(1.0, None, 1.2, 5, None).half_width() is None
    assert PairedRatio(1.0, 0.9, None, 5, None).half_width() is None
    assert PairedRatio(0.0, 0.0, 0.0, 10, 0.98).half_width() is None


def test_median_interval_ranks_exactly_at_the_confidence() -> None:
    # n = 7: P(Bin <= 0) = 1/128 and P(Bin <= 1) = 8/128, exact in binary
    # [min, max] covers exactly 1 - 2/128: enough at that confidence, one rank
    assert median_interval_ranks(7, 1 - 2 / 128) == (1, 1 - 2 / 128)
    assert median_interval_ranks(7, math.nextafter(1 - 2 / 128, 1.0)) is None
    # ranks 2 and 6 cover exactly 1 - 16/128 = 0.875: the tightest at 0.875 is rank 2
    assert median_interval_ranks(7, 0.875) == (2, 0.875)
    assert median_interval_ranks(7, math.nextafter(0.875, 1.0)) == (1, 1 - 2 / 128)
    assert median_interval_ranks(0) is None
