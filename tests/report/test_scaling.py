"""Scaling exponents: the least-squares fit against numpy, its interval, the claim check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from attnbench.report.scaling import (
    ABOVE_CLAIM,
    BELOW_CLAIM,
    NEAR,
    claimed_exponent,
    contradiction,
    fit_power_law,
    fit_series,
    scaling_rows,
)
from attnbench.report.series import Point, Series

NS = [512, 1024, 2048, 4096]
FACET = (("pass", "fwd"), ("head_dim", 32), ("causal", False))


def test_exact_power_law_gives_its_exponent_and_a_zero_width_interval() -> None:
    fit = fit_power_law(NS, [3e-6 * n**2 for n in NS])
    assert fit is not None
    assert fit.exponent == pytest.approx(2.0, abs=1e-12)
    assert fit.predict(8192) == pytest.approx(3e-6 * 8192**2, rel=1e-9)
    assert fit.ci_low == pytest.approx(2.0, abs=1e-9)
    assert fit.ci_high == pytest.approx(2.0, abs=1e-9)
    assert (fit.points, fit.n_min, fit.n_max) == (4, 512, 4096)


def test_noisy_fit_matches_numpy_and_a_t_interval() -> None:
    times = [0.8, 3.5, 12.0, 52.0]
    fit = fit_power_law(NS, times)
    assert fit is not None
    x, y = np.log(NS), np.log(times)
    slope, intercept = np.polyfit(x, y, 1)
    assert fit.exponent == pytest.approx(slope, rel=1e-12)
    assert fit.intercept == pytest.approx(intercept, rel=1e-9)
    residuals = y - (slope * x + intercept)
    stderr = math.sqrt(float(np.sum(residuals**2)) / 2 / float(np.sum((x - x.mean()) ** 2)))
    assert fit.stderr == pytest.approx(stderr, rel=1e-9)
    half = stats.t.ppf(0.975, 2) * stderr  # two degrees of freedom for four points
    assert fit.ci_low == pytest.approx(slope - half, rel=1e-9)
    assert fit.ci_high == pytest.approx(slope + half, rel=1e-9)
    assert fit.ci_low < fit.exponent < fit.ci_high


def test_two_lengths_give_an_exponent_without_interval_and_one_gives_none() -> None:
    two = fit_power_law([100, 200], [1.0, 4.0])
    assert two is not None and two.exponent == pytest.approx(2.0)
    assert two.stderr is None and two.ci_low is None and two.ci_high is None
    assert fit_power_law([100, 100], [1.0, 1.1]) is None
    assert fit_power_law([100], [1.0]) is None


def test_non_positive_values_are_left_out() -> None:
    fit = fit_power_law([0, 100, 200, 400], [5.0, 1.0, 2.0, 0.0])
    assert fit is not None and fit.points == 2 and fit.exponent == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("O(N)", 1.0), ("O(N^2)", 2.0), ("O(N²)", 2.0), ("O(N^1.5)", 1.5), (" O( N ^ 2 ) ", 2.0),
     ("O(N log N)", None), ("O(N*M)", None), ("", None), ("linear", None)],
)
def test_claimed_exponent(text: str, expected: float | None) -> None:
    assert claimed_exponent(text) == expected


def test_near_is_point_three() -> None:
    assert NEAR == 0.3


@pytest.mark.parametrize(
    ("claimed", "exponent", "expected"),
    [
        (1.0, 1.69, None),          # linear claim, just short of "near 2"
        (1.0, 1.70, ABOVE_CLAIM),   # the boundary counts as near
        (1.0, 1.71, ABOVE_CLAIM),
        (1.0, 2.60, ABOVE_CLAIM),   # beyond 2 is worse still
        (1.0, 1.05, None),
        (2.0, 1.31, None),          # quadratic claim, just short of "near 1"
        (2.0, 1.30, BELOW_CLAIM),
        (2.0, 1.29, BELOW_CLAIM),
        (2.0, 0.40, BELOW_CLAIM),
        (2.0, 1.95, None),
        (None, 2.0, None),          # nothing declared (or not a power of N): nothing to check
        (1.5, 2.0, None),
    ],
)
def test_contradiction_both_sides_of_each_boundary(
    claimed: float | None, exponent: float, expected: str | None
) -> None:
    assert contradiction(claimed, exponent) == expected


def _series(variant: str, times: list[float | None], statuses: list[str] | None = None) -> Series:
    statuses = statuses or ["ok"] * len(times)
    points = tuple(
        Point(n, status, t, case_id=f"{variant}/n{n}")
        for n, t, status in zip(NS, times, statuses, strict=True)
    )
    return Series("cpu", variant, variant, FACET, points)


def test_rows_warn_for_a_linear_claim_that_fits_quadratic_and_say_why() -> None:
    quadratic = [1e-5 * n**2 for n in NS]
    rows = scaling_rows([_series("fake.linear", quadratic), _series("fake.quad", quadratic)],
                        {"fake.linear": "O(N)", "fake.quad": "O(N^2)"})
    assert [r.warning for r in rows] == [ABOVE_CLAIM, None]
    message = rows[0].message()
    assert message.startswith("SCALING_ABOVE_CLAIM: fake.linear (cpu, fwd · d32 · full)")
    assert "declares O(N) but its time fits N^2.00" in message
    assert "over N=512..4096, 4 points" in message
    assert rows[1].message() == ""


def test_rows_warn_for_a_quadratic_claim_that_fits_linear() -> None:
    rows = scaling_rows([_series("fake.quad", [1e-3 * n for n in NS])], {"fake.quad": "O(N^2)"})
    assert rows[0].warning == BELOW_CLAIM
    assert "near or below 1" in rows[0].message()


def test_fit_uses_only_points_that_ran() -> None:
    s = _series("v", [1.0, 4.0, None, None], ["ok", "ok", "oom", "failed"])
    fit = fit_series(s)
    assert fit is not None and fit.points == 2 and fit.n_max == 1024
    assert fit.exponent == pytest.approx(2.0)


def test_a_line_without_two_lengths_has_no_fit_and_no_warning() -> None:
    rows = scaling_rows([_series("v", [1.0, None, None, None], ["ok", "oom", "oom", "oom"])],
                        {"v": "O(N)"})
    assert rows[0].fit is None and rows[0].warning is None
    assert rows[0].to_dict()["fit"] is None
