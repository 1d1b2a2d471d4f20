"""Pure statistics on samples (no torch, no I/O).

Quantiles use linear interpolation between order statistics (numpy's default, "type 7"), so
results can be checked against numpy or R's ``quantile(type = 7)``.
"""

from __future__ import annotations

import functools
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


RATIO_CONFIDENCE = 0.95
RATIO_METHOD = "median of per-round ratios; distribution-free order-statistic 95% interval"
MIN_PAIRS_FOR_INTERVAL = 6
"""Below 6 pairs no pair of order statistics covers the median with 95% confidence."""


@dataclass(frozen=True)
class PairedRatio:
    """A member's time over the baseline's from paired rounds.

    Attributes:
        ratio: median over rounds of (member sample / baseline sample of the same round).
        ci_low: lower end of the 95% interval of that median (None below 6 pairs).
        ci_high: upper end (None below 6 pairs).
        pairs: rounds that timed both.
        coverage: the exact coverage of the interval (>= 0.95), None without one.
    """

    ratio: float
    ci_low: float | None
    ci_high: float | None
    pairs: int
    coverage: float | None

    def half_width(self) -> float | None:
        """The larger relative distance from the ratio to an interval end (None: no interval)."""
        if self.ci_low is None or self.ci_high is None or self.ratio <= 0:
            return None
        return max(self.ci_high / self.ratio - 1.0, 1.0 - self.ci_low / self.ratio)


@functools.lru_cache(maxsize=4096)
def median_interval_ranks(n: int, confidence: float = RATIO_CONFIDENCE) -> tuple[int, float] | None:
    """1-based rank ``j`` such that [x_(j), x_(n+1-j)] covers the median with >= ``confidence``.

    Distribution-free: the number of values below the true median is Binomial(n, 1/2), so the
    interval's coverage is ``1 - 2·P(Bin(n, 1/2) <= j - 1)``; ``j`` is the largest rank keeping
    that at or above ``confidence``. Returns (j, coverage), or None when even [min, max] falls
    short (n < 6 at 95%).
    """
    from scipy.stats import binom  # imported here: scipy is slow to import

    tail = (1.0 - confidence) / 2.0
    if n < 1 or float(binom.cdf(0, n, 0.5)) > tail:
        return None
    j = int(binom.ppf(tail, n, 0.5))  # smallest k with cdf(k) >= tail
    if float(binom.cdf(j, n, 0.5)) <= tail:
        j += 1
    j = max(j, 1)
    return j, 1.0 - 2.0 * float(binom.cdf(j - 1, n, 0.5))


def paired_ratio(member_ms: Sequence[float], baseline_ms: Sequence[float]) -> PairedRatio:
    """The median of per-round ratios ``member_ms[i] / baseline_ms[i]`` with its 95% interval.

    Rounds are paired by index (the same rotation round); a round with a non-positive
    baseline sample is left out. The interval is the distribution-free order-statistic
    interval of :func:`median_interval_ranks` (no bootstrap, so no seed and no resampling
    noise); below :data:`MIN_PAIRS_FOR_INTERVAL` pairs it is None.

    Raises:
        ValueError: no usable pair.
    """
    ratios = sorted(m / b for m, b in zip(member_ms, baseline_ms, strict=False) if b > 0)
    if not ratios:
        raise ValueError("no paired rounds to take a ratio from")
    n = len(ratios)
    ranks = median_interval_ranks(n)
    if ranks is None:
        return PairedRatio(quantile(ratios, 0.5), None, None, n, None)
    j, coverage = ranks
    return PairedRatio(quantile(ratios, 0.5), ratios[j - 1], ratios[n - j], n, coverage)
