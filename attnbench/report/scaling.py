"""Fitted scaling exponents: how a variant's time grows with the sequence length.

For each line of the time figure (a run's variant at one pass, head dim and causal flag) the
exponent ``b`` of ``time ≈ a · N^b`` is the least-squares slope of log median time on log N
over the measured (``ok``) points, from :func:`scipy.stats.linregress`. Its 95% interval is
``b ± t(0.975, n - 2) · stderr`` and needs at least three sequence lengths; two give the
exponent alone.

A variant declares its time complexity (``VariantInfo.time_complexity``, stored with every
case under ``models.time``). The fit contradicts the declaration when it lands *near* the other
regime, where near means within :data:`NEAR` of it, or beyond it:

* ``SCALING_ABOVE_CLAIM``: declared ``O(N)``, fitted ``b >= 2 - NEAR`` (1.7 or more);
* ``SCALING_BELOW_CLAIM``: declared ``O(N^2)``, fitted ``b <= 1 + NEAR`` (1.3 or less).

Fixed costs (kernel launches, Python) flatten the curve at short lengths, so a quadratic kernel
timed only at small N can fit well below 2: the warning says which range was fitted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats  # type: ignore[import-untyped]

from attnbench.report.series import Series, facet_title

NEAR = 0.3
"""How close (in exponent units) a fit must come to the other regime to contradict a claim."""

ABOVE_CLAIM = "SCALING_ABOVE_CLAIM"
BELOW_CLAIM = "SCALING_BELOW_CLAIM"

_CLAIM = re.compile(r"^O\(\s*N\s*(?:\^\s*(?P<power>\d+(?:\.\d+)?)|(?P<sup>²))?\s*\)$")


@dataclass(frozen=True)
class Fit:
    """``value ≈ exp(intercept) · N^exponent`` fitted on ``points`` sequence lengths.

    ``stderr`` is the standard error of the exponent and ``ci_low``/``ci_high`` its 95%
    interval (None with only two points). ``r_squared`` is the coefficient of determination
    in log-log space.
    """

    exponent: float
    intercept: float
    stderr: float | None
    ci_low: float | None
    ci_high: float | None
    r_squared: float | None
    points: int
    n_min: int
    n_max: int

    def predict(self, seq_len: float) -> float:
        """The fitted value at ``seq_len`` (in the unit of the fitted values)."""
        return math.exp(self.intercept + self.exponent * math.log(seq_len))

    def to_dict(self) -> dict[str, Any]:
        return {
            "exponent": self.exponent,
            "stderr": self.stderr,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "r_squared": self.r_squared,
            "intercept_log": self.intercept,
            "points": self.points,
            "n_min": self.n_min,
            "n_max": self.n_max,
        }


def fit_power_law(seq_lens: Sequence[float], values: Sequence[float]) -> Fit | None:
    """Least-squares fit of log ``values`` on log ``seq_lens``; None below two distinct lengths.

    Non-positive pairs are ignored (they have no logarithm).
    """
    pairs = [(float(n), float(v)) for n, v in zip(seq_lens, values, strict=True) if n > 0 and v > 0]
    if len({n for n, _ in pairs}) < 2:
        return None
    x = [math.log(n) for n, _ in pairs]
    y = [math.log(v) for _, v in pairs]
    result = stats.linregress(x, y)
    slope, intercept = float(result.slope), float(result.intercept)
    stderr: float | None = None
    low = high = None
    r_squared: float | None = None
    if len(pairs) >= 3:
        stderr = float(result.stderr)
        half = float(stats.t.ppf(0.975, len(pairs) - 2)) * stderr
        low, high = slope - half, slope + half
        r_squared = float(result.rvalue) ** 2
    ns = [int(n) for n, _ in pairs]
    return Fit(slope, intercept, stderr, low, high, r_squared, len(pairs), min(ns), max(ns))


def fit_series(series: Series) -> Fit | None:
    """The power-law fit of one line's measured points."""
    ok = series.ok_points()
    return fit_power_law([p.seq_len for p in ok], [p.value for p in ok if p.value is not None])


def claimed_exponent(complexity: str) -> float | None:
    """``"O(N)"`` → 1, ``"O(N^2)"`` or ``"O(N²)"`` → 2, ``"O(N^1.5)"`` → 1.5; else None."""
    match = _CLAIM.match(complexity.strip())
    if match is None:
        return None
    if match.group("sup"):
        return 2.0
    power = match.group("power")
    return float(power) if power else 1.0


def contradiction(claimed: float | None, exponent: float) -> str | None:
    """The warning code when ``exponent`` contradicts the ``claimed`` one, else None."""
    if claimed == 1.0 and exponent >= 2.0 - NEAR:
        return ABOVE_CLAIM
    if claimed == 2.0 and exponent <= 1.0 + NEAR:
        return BELOW_CLAIM
    return None


@dataclass(frozen=True)
class ScalingRow:
    """One line's fitted exponent next to the variant's declared time complexity."""

    series: Series
    fit: Fit | None
    claim: str
    warning: str | None

    def message(self) -> str:
        """A one-line explanation of :attr:`warning` (empty without one)."""
        if self.warning is None or self.fit is None:
            return ""
        where = f"{self.series.line} ({self.series.run}, {_facet_text(self.series)})"
        interval = ""
        if self.fit.ci_low is not None and self.fit.ci_high is not None:
            interval = f", 95% CI [{self.fit.ci_low:.2f}, {self.fit.ci_high:.2f}]"
        regime = "near or above 2" if self.warning == ABOVE_CLAIM else "near or below 1"
        return (
            f"{self.warning}: {where} declares {self.claim} but its time fits "
            f"N^{self.fit.exponent:.2f}{interval} ({regime}) over N={self.fit.n_min}.."
            f"{self.fit.n_max}, {self.fit.points} points"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.series.run,
            "variant": self.series.variant,
            "line": self.series.line,
            "facet": dict(self.series.facet),
            "claim": self.claim,
            "claimed_exponent": claimed_exponent(self.claim),
            "fit": self.fit.to_dict() if self.fit else None,
            "warning": self.warning,
        }


def _facet_text(series: Series) -> str:
    return facet_title(series.facet)


def scaling_rows(time_series: Sequence[Series], claims: dict[str, str]) -> list[ScalingRow]:
    """A row per line of the time figure; ``claims`` maps variant → declared complexity."""
    rows = []
    for s in time_series:
        fit = fit_series(s)
        claim = claims.get(s.variant, "")
        warning = contradiction(claimed_exponent(claim), fit.exponent) if fit else None
        rows.append(ScalingRow(s, fit, claim, warning))
    return rows
