"""Statistics for comparing two sets of raw samples (no I/O, no torch).

Methods, stated once so every output can point here:

* **Ratio and interval.** The ratio is ``median(current) / median(baseline)`` of the raw
  per-call samples. Its 95% interval is a percentile bootstrap: each run's samples are
  resampled independently with replacement (:data:`RESAMPLES` times, generator seeded with
  :data:`SEED`, so the same files always give the same interval) and the 2.5% and 97.5%
  quantiles of the resampled ratios of medians are taken. The resampled log-ratios are kept
  (:attr:`RatioEstimate.log_replicates`) so a geometric mean over cases, or a ratio divided
  by the canary's, gets its interval from the same resamples.
* **Test.** Two-sided Mann–Whitney U (``scipy.stats.mannwhitneyu``: exact for small samples
  without ties, otherwise the normal approximation with tie correction).
* **Multiple testing.** Holm's step-down adjustment across every case tested (:func:`holm`).
* **Minimum detectable effect.** The relative change this pair would detect with 80% power
  at level α: ``exp((z₁₋α/₂ + z₀.₈) · s · √(π/3) · √(1/n₁ + 1/n₂)) − 1`` where ``s`` is the
  pooled robust standard deviation of the log samples (IQR / 1.349) and ``√(π/3)`` is the
  Mann–Whitney test's efficiency loss against a t-test on normal data (a conservative bound).
  It never goes below what the test can resolve at all with so few samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

ALPHA = 0.05
"""Family-wise error rate of the gate's decision (Holm) and level of every interval (95%)."""
RESAMPLES = 2000
"""Bootstrap resamples per ratio."""
SEED = 0
"""Seed of the bootstrap generator: identical inputs give identical intervals."""
POWER = 0.8
"""Power at which the minimum detectable effect and the samples needed are stated."""
_IQR_TO_SD = 1.349
_CHUNK_ELEMENTS = 2_000_000
"""Largest resample matrix built at once (elements), to bound memory on long sample lists."""

LogReplicates = NDArray[np.float64]


@dataclass(frozen=True)
class RatioEstimate:
    """``current / baseline`` of a statistic, with its 95% bootstrap interval.

    ``log_replicates`` are the bootstrap replicates of ``log(ratio)`` (length
    :data:`RESAMPLES`); empty when no interval could be formed.
    """

    ratio: float
    ci_low: float
    ci_high: float
    log_replicates: LogReplicates = field(
        default_factory=lambda: np.empty(0), compare=False, repr=False
    )

    def inverted(self) -> RatioEstimate:
        """The ratio of the reciprocal statistic (time → throughput)."""
        return RatioEstimate(
            1 / self.ratio, 1 / self.ci_high, 1 / self.ci_low, -self.log_replicates
        )

    def divided(self, other: RatioEstimate) -> RatioEstimate:
        """``self / other`` with the interval of the combined (independent) resamples."""
        reps = self.log_replicates - other.log_replicates
        low, high = interval_from_log(reps)
        return RatioEstimate(self.ratio / other.ratio, low, high, reps)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given.

    Sort the m p-values ascending; the k-th smallest (k = 1..m) becomes
    ``min(1, max over j <= k of (m - j + 1) * p_(j))``. Rejecting every adjusted p <= α
    controls the family-wise error rate at α under any dependence between the tests.
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted


def mann_whitney_p(baseline: Sequence[float], current: Sequence[float]) -> float:
    """Two-sided Mann–Whitney U p-value; 1.0 when the samples cannot differ (all equal)."""
    if len(baseline) < 1 or len(current) < 1:
        raise ValueError("Mann–Whitney needs at least one sample on each side")
    if len(set(baseline) | set(current)) == 1:
        return 1.0
    from scipy import stats as sps  # imported on use: scipy.stats costs ~1 s at CLI start

    result = sps.mannwhitneyu(current, baseline, alternative="two-sided")
    p = float(result.pvalue)
    return 1.0 if math.isnan(p) else p


def _boot_medians(values: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.float64]:
    n = len(values)
    out = np.empty(RESAMPLES)
    step = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, RESAMPLES, step):
        stop = min(RESAMPLES, start + step)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = np.median(values[idx], axis=1)
    return out


def interval_from_log(log_replicates: LogReplicates) -> tuple[float, float]:
    """The 95% percentile interval, as ratios, of bootstrap log-ratio replicates."""
    low, high = np.quantile(log_replicates, [ALPHA / 2, 1 - ALPHA / 2])
    return math.exp(float(low)), math.exp(float(high))


def ratio_of_medians(baseline: Sequence[float], current: Sequence[float]) -> RatioEstimate:
    """``median(current) / median(baseline)`` with its 95% bootstrap interval.

    Raises:
        ValueError: an empty side, or a sample that is not positive (no ratio exists).
    """
    base = np.asarray(baseline, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if base.size == 0 or cur.size == 0:
        raise ValueError("a ratio needs samples on both sides")
    if base.min() <= 0 or cur.min() <= 0:
        raise ValueError("samples must be positive to form a ratio")
    rng = np.random.default_rng(SEED)
    reps = np.log(_boot_medians(cur, rng)) - np.log(_boot_medians(base, rng))
    low, high = interval_from_log(reps)
    return RatioEstimate(float(np.median(cur) / np.median(base)), low, high, reps)


def geomean(estimates: Sequence[RatioEstimate]) -> RatioEstimate:
    """Geometric mean of ratios; its interval from the mean of the cases' log replicates.

    Every case's replicates come from the same bootstrap, so replicate i of the geometric
    mean is the geometric mean of replicate i of each case.
    """
    if not estimates:
        raise ValueError("geometric mean of no ratios")
    point = math.exp(math.fsum(math.log(e.ratio) for e in estimates) / len(estimates))
    reps = np.mean(np.stack([e.log_replicates for e in estimates]), axis=0)
    low, high = interval_from_log(reps)
    return RatioEstimate(point, low, high, reps)


def robust_log_sd(samples: Sequence[float]) -> float:
    """IQR / 1.349 of ``log(samples)``: the standard deviation a normal law with that IQR has."""
    logs = np.log(np.asarray(samples, dtype=np.float64))
    q1, q3 = np.quantile(logs, [0.25, 0.75])
    return float(q3 - q1) / _IQR_TO_SD


def pooled_log_sd(baseline: Sequence[float], current: Sequence[float]) -> float:
    """Pooled robust log-scale standard deviation of two sample sets."""
    n1, n2 = len(baseline), len(current)
    s1, s2 = robust_log_sd(baseline), robust_log_sd(current)
    if n1 + n2 <= 2:
        return max(s1, s2)
    return math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))


def z_power(alpha: float, dof: float = math.inf) -> float:
    """``t₁₋α/₂ + z₀.₈``: the quantiles (in standard deviations) a change must clear at
    ``alpha`` with 80% power; the two-sided quantile is Student's with ``dof`` degrees of
    freedom, the normal one when ``dof`` is infinite."""
    from scipy import stats as sps

    critical = sps.norm.ppf(1 - alpha / 2) if math.isinf(dof) else sps.t.ppf(1 - alpha / 2, dof)
    return float(critical + sps.norm.ppf(POWER))


def min_samples_for_level(alpha: float) -> int:
    """Smallest n (per side) at which an exact two-sided Mann–Whitney test can reach ``alpha``.

    With n samples on each side and no ties the smallest possible p is ``2 / C(2n, n)``.
    """
    n = 1
    while 2 / math.comb(2 * n, n) > alpha:
        n += 1
    return n


def _smallest_p(n1: int, n2: int) -> float:
    return 2 / math.comb(n1 + n2, n1)


def mde_from(sd_log: float, n1: int, n2: int, alpha: float) -> float:
    """Minimum detectable relative change (0.03 = 3%) at level ``alpha`` and 80% power.

    ``sd_log`` is the pooled log-scale noise, ``n1`` and ``n2`` the sample counts; ``inf``
    when the samples are too few for the test to reach ``alpha`` at all.
    """
    if n1 < 1 or n2 < 1 or _smallest_p(n1, n2) > alpha:
        return math.inf
    return math.expm1(z_power(alpha) * sd_log * math.sqrt(math.pi / 3) * math.sqrt(1 / n1 + 1 / n2))


def mde(baseline: Sequence[float], current: Sequence[float], alpha: float) -> float:
    """:func:`mde_from` for two sample sets."""
    sd = pooled_log_sd(baseline, current)
    return mde_from(sd, len(baseline), len(current), alpha)


def samples_needed(sd_log: float, change: float, alpha: float, run_sd_log: float = 0.0) -> int:
    """Samples per run needed to detect a relative ``change`` (0.05 = 5%) at ``alpha``.

    Solves the :func:`mde` formula for equal n; at least :func:`min_samples_for_level`.
    ``run_sd_log`` is noise that samples do not average away (run-to-run, see
    :mod:`attnbench.compare.noise`): the samples must resolve what is left of the change's
    budget after it, ``√((log(1 + change) / z)² − run_sd_log²)``.

    Raises:
        ValueError: ``change`` not positive, or ``run_sd_log`` alone too large for it.
    """
    if change <= 0:
        raise ValueError("change must be positive")
    z = z_power(alpha)
    budget = (math.log1p(change) / z) ** 2 - run_sd_log**2
    if budget <= 0:
        raise ValueError("the run-to-run noise alone is too large to resolve this change")
    n = 2 * (sd_log * math.sqrt(math.pi / 3)) ** 2 / budget
    return max(math.ceil(n), min_samples_for_level(alpha))
