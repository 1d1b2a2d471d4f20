"""Pure statistics on samples (no torch, no I/O).

Quantiles use linear interpolation between order statistics (numpy's default, "type 7"), so
results can be checked against numpy or R's ``quantile(type = 7)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1) of already-sorted values, linear interpolation."""
    if not sorted_values:
        raise ValueError("quantile of an empty sequence")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def median(values: Sequence[float]) -> float:
    return quantile(sorted(values), 0.5)


def rel_iqr(values: Sequence[float]) -> float:
    """(Q3 - Q1) / median: the relative interquartile range, a robust noise estimate."""
    return rel_iqr_sorted(sorted(values))


def rel_iqr_sorted(s: Sequence[float]) -> float:
    """:func:`rel_iqr` of values that are already sorted (no copy, no sort)."""
    med = quantile(s, 0.5)
    if med == 0:
        return math.inf
    return (quantile(s, 0.75) - quantile(s, 0.25)) / med


@dataclass(frozen=True)
class Summary:
    """Summary of per-call sample times, all in milliseconds except ``rel_iqr`` and ``count``."""

    median_ms: float
    min_ms: float
    max_ms: float
    mean_ms: float
    q1_ms: float
    q3_ms: float
    stdev_ms: float
    rel_iqr: float
    count: int

    def as_metrics(self) -> dict[str, float]:
        """Catalog keys (``time/median_ms``...) → values."""
        d = asdict(self)
        count = d.pop("count")
        out = {f"time/{k}": float(v) for k, v in d.items()}
        out["time/samples"] = float(count)
        return out


def summarize(samples_ms: Sequence[float]) -> Summary:
    """Median, extremes, mean, quartiles, sample stdev and relative IQR of ``samples_ms``."""
    if not samples_ms:
        raise ValueError("no samples to summarize")
    s = sorted(samples_ms)
    n = len(s)
    mean = math.fsum(s) / n
    var = math.fsum((x - mean) ** 2 for x in s) / (n - 1) if n > 1 else 0.0
    med = quantile(s, 0.5)
    q1, q3 = quantile(s, 0.25), quantile(s, 0.75)
    return Summary(
        median_ms=med,
        min_ms=s[0],
        max_ms=s[-1],
        mean_ms=mean,
        q1_ms=q1,
        q3_ms=q3,
        stdev_ms=math.sqrt(var),
        rel_iqr=(q3 - q1) / med if med > 0 else math.inf,
        count=n,
    )


def slope(values: Sequence[float]) -> float:
    """Least-squares slope of ``values`` against their index (0, 1, 2...)."""
    n = len(values)
    if n < 2:
        return 0.0
    x_mean = (n - 1) / 2
    y_mean = math.fsum(values) / n
    num = math.fsum((i - x_mean) * (y - y_mean) for i, y in enumerate(values))
    den = math.fsum((i - x_mean) ** 2 for i in range(n))
    return num / den
