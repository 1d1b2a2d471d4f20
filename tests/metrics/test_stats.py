"""Statistics against values computed independently (numpy's type-7 quantiles)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnbench.metrics.stats import quantile, rel_iqr, slope, summarize


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
