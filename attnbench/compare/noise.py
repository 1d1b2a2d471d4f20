"""Run-to-run noise: how far unchanged cases move between two runs, beyond their own samples.

A Mann–Whitney test on two runs' raw samples sees only the noise *within* each case's short
measuring window. Between two runs a shared machine also changes speed (other tenants,
clocks, the host's frequency), and a case measured at one moment in each run carries that
change whole. On this project's 2-core CI host, A/A runs of the same suite moved a case's
median by 7–20% (log-scale standard deviation) while each case's bootstrap interval was a few
percent wide: a test on samples alone calls such moves significant. So the gate also tests
every case against a model of the run-to-run noise, with two terms, both on the log scale:

* **machine wander** ``σ_m``: the standard deviation of the canary's checkpoint medians
  (start, middle and end of each run, both runs pooled). It is how much the machine's speed
  differs from one moment to another, and so the uncertainty of any correction for it; it
  moves all cases together, so averaging over cases does not shrink it.
* **case spread** ``τ``: how much the cases' log-ratios scatter around their common shift
  beyond what their bootstrap intervals explain, ``τ² = max(0, s² − median(seᵢ²))`` with
  ``s`` Rousseeuw and Croux's ``Qn`` scale of the log-ratios of the *bulk* of the cases (a
  quartile of the pairwise distances, with their small-sample factors). It needs at least
  :data:`MIN_CASES` tested cases. The bulk is every case within :data:`BULK_CUT` ``Qn`` of
  the cases' median, the median and ``Qn`` re-taken over the bulk until it stops changing
  (:func:`bulk`): ``Qn`` alone tolerates up to half the cases changed, but overstates the
  spread by about 1.4× with a quarter of them changed 10%, which on a steady machine hid
  half of such regressions. A cut at 3 ``Qn`` drops a change of several spreads and keeps
  all but 0.3% of normal noise, and the cases it drops are still tested, against the
  bulk's spread.
* **degrees of freedom**: ``σ_m`` comes from a handful of checkpoints (6 in two runs, 4 or 5
  degrees of freedom) and ``τ`` from a dozen or so cases, so a case's statistic is a
  Student ``t``, not a normal ``z``: its degrees of freedom are Welch and Satterthwaite's
  for the sum of the variance terms (``seᵢ`` counted exact, ``τ²`` and ``se(ĉ)²`` with
  0.82·(bulk − 1), ``Qn``'s efficiency at the normal, ``σ_m²`` with its own). With a normal
  quantile, a whole-run shift that six checkpoints of the canary happened to under-measure
  was confirmed as a regression of every case (3–5% false regressions on this project's
  host, from one batch of runs).

A case can show it changed in two ways, and ``p_run`` is the smaller of the two p-values,
doubled (Bonferroni over the two routes, so still of level α), each from Student's ``t``
with its route's degrees of freedom:

* **absolute**: ``z = log(ratio) / √(seᵢ² + τ² + σ_m²)`` (``seᵢ`` the standard deviation of
  the case's bootstrap log-ratio replicates): the change is larger than anything the machine
  and the case's own spread explain. This is the route of a change shared by every case.
* **relative**: ``z = (log(ratio) − ĉ) / √(seᵢ² + τ² + se(ĉ)²)``, with ``ĉ`` the median
  log-ratio of the bulk of the tested cases (their common shift, machine and shared changes
  alike) and ``se(ĉ)² = (π/2)(τ² + median seᵢ²)/n`` over the ``n`` cases of the bulk: the
  case moved away from the bulk, in the direction of its own change. The canary's wander
  does not enter: whatever the machine did between the runs, it did to the other cases
  too, and the bulk measures it. Without it, a copy of a run with one case slowed by 10%
  would be tested against the canary's wander *within* that run (tens of percent on a
  loaded host), which the copy does not have. It needs :data:`MIN_CASES` tested cases in
  the bulk, like ``τ``.

The gate's p for a case is ``max(p_MW, p_run)``: a regression must be significant on the raw
samples *and* against the run-to-run noise (an intersection–union test, still of level α),
and Holm adjusts that p across the cases. The interval the gate reports for a case is its
bootstrap interval widened by the absolute route's run-to-run terms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from attnbench.compare.drift import canary_kind, canary_of
from attnbench.compare.stats import RatioEstimate, z_power
from attnbench.results.schema import RunResult

MIN_CASES = 8
"""Tested cases needed to estimate the case spread ``τ`` (fewer: ``τ`` is not counted)."""
QN_MAX_CASES = 2000
"""Above this many cases, ``Qn`` is taken over evenly spaced order statistics of the cases."""
_QN_NORMAL = 2.2219
"""Makes ``Qn`` estimate the standard deviation of a normal law (Croux and Rousseeuw 1992)."""
_QN_SMALL = {8: 0.669, 9: 0.872}
"""Their finite-sample factors below 10 cases; above: n/(n+1.4) odd, n/(n+3.8) even."""
_Z95 = 1.959963984540054
"""Two-sided 95% normal quantile (the level of every interval)."""
BULK_CUT = 3.0
"""A case is in the bulk when its log-ratio is within this many ``Qn`` of the bulk's median."""
_BULK_ROUNDS = 10
"""Re-takings of the bulk's median and ``Qn`` at most (it settles in two or three)."""
_QN_EFFICIENCY = 0.82
"""``Qn``'s asymptotic efficiency at the normal: ``τ²`` from n cases has about 0.82(n − 1)
degrees of freedom."""


@dataclass(frozen=True)
class RunNoise:
    """The run-to-run noise of one gate (log-scale standard deviations).

    Attributes:
        case_sd_log: ``τ``, the spread of unchanged cases beyond their samples' noise.
        machine_sd_log: ``σ_m``, the canary's wander between checkpoints (both runs).
        cases: the tested cases (0 when there were too few to estimate ``τ``).
        checkpoints: the canary checkpoints ``σ_m`` was estimated from (0 when it was not).
        note: the one line every output prints.
        shift_log: ``ĉ``, the median log-ratio of the bulk (None with fewer than
            :data:`MIN_CASES` in it: no relative route).
        shift_se_log: ``se(ĉ)``, its standard error.
        bulk: the cases ``τ`` and ``ĉ`` were taken from (:func:`bulk`).
        case_dof: degrees of freedom of ``τ²`` (and ``se(ĉ)²``); ``inf``: taken as exact.
        machine_dof: degrees of freedom of ``σ_m²``; ``inf``: taken as exact.
    """

    case_sd_log: float = 0.0
    machine_sd_log: float = 0.0
    cases: int = 0
    checkpoints: int = 0
    note: str = ""
    shift_log: float | None = None
    shift_se_log: float = 0.0
    bulk: int = 0
    case_dof: float = math.inf
    machine_dof: float = math.inf

    @property
    def sd_log(self) -> float:
        """The run-to-run term added to every case: ``√(τ² + σ_m²)``."""
        return math.hypot(self.case_sd_log, self.machine_sd_log)

    def total_sd_log(self, se_log: float) -> float:
        """A case's whole log-scale uncertainty: ``√(se² + τ² + σ_m²)``."""
        return math.hypot(se_log, self.sd_log)

    @property
    def routes(self) -> int:
        """How many ways a case can show a change (2 with the relative route, else 1)."""
        return 1 if self.shift_log is None else 2

    def relative_sd_log(self, se_log: float) -> float:
        """A case's log-scale uncertainty about the bulk: ``√(se² + τ² + se(ĉ)²)``."""
        return math.hypot(se_log, self.case_sd_log, self.shift_se_log)

    def detect_sd_log(self, se_log: float) -> float:
        """The smaller uncertainty of the two routes (the one a change is easiest seen by)."""
        absolute = self.total_sd_log(se_log)
        return absolute if self.shift_log is None else min(absolute, self.relative_sd_log(se_log))

    def absolute_dof(self, se_log: float) -> float:
        """Degrees of freedom of the absolute route's statistic (Welch–Satterthwaite)."""
        return satterthwaite([(se_log**2, math.inf), (self.case_sd_log**2, self.case_dof),
                              (self.machine_sd_log**2, self.machine_dof)])  # fmt: skip

    def relative_dof(self, se_log: float) -> float:
        """Degrees of freedom of the relative route's statistic (Welch–Satterthwaite)."""
        return satterthwaite([(se_log**2, math.inf), (self.case_sd_log**2, self.case_dof),
                              (self.shift_se_log**2, self.case_dof)])  # fmt: skip

    def detect_log(self, se_log: float, level: float) -> float:
        """The smallest log-change the easier route confirms at ``level`` (shared by the
        routes, as :meth:`p` does) with 80% power: ``(t₁₋ₐ/₂ + z₀.₈) · sd`` of the route."""
        share = level / self.routes
        best = z_power(share, self.absolute_dof(se_log)) * self.total_sd_log(se_log)
        if self.shift_log is not None:
            relative = z_power(share, self.relative_dof(se_log)) * self.relative_sd_log(se_log)
            best = min(best, relative)
        return best

    def p_absolute(self, log_ratio: float, se_log: float) -> float:
        """Two-sided Student p of ``log_ratio`` against the case's whole uncertainty."""
        return _two_sided(log_ratio, self.total_sd_log(se_log), self.absolute_dof(se_log))

    def p_relative(self, log_ratio: float, se_log: float) -> float:
        """Two-sided Student p of ``log_ratio − ĉ`` against :meth:`relative_sd_log`; 1 when
        there is no relative route, or the case moved from the bulk against its own change
        (a case 10% slower in runs whose cases all moved 20% is not a regression by this
        route)."""
        if self.shift_log is None:
            return 1.0
        away = log_ratio - self.shift_log
        if away * log_ratio <= 0:
            return 1.0
        return _two_sided(away, self.relative_sd_log(se_log), self.relative_dof(se_log))

    def p(self, log_ratio: float, se_log: float) -> float:
        """``p_run``: the smaller route's p, doubled (Bonferroni); the absolute p alone
        when there is no relative route."""
        absolute = self.p_absolute(log_ratio, se_log)
        if self.shift_log is None:
            return absolute
        return min(1.0, 2 * min(absolute, self.p_relative(log_ratio, se_log)))

    def widened(self, est: RatioEstimate, shared: int = 1) -> RatioEstimate:
        """``est`` with its 95% interval widened by the run-to-run terms (in quadrature).

        ``shared``: how many independent cases the estimate averages (a geometric mean over
        n cases divides ``τ²`` by n; the machine wander is common to all and stays whole).
        """
        extra = _Z95 * math.hypot(self.case_sd_log / math.sqrt(max(shared, 1)),
                                  self.machine_sd_log)  # fmt: skip
        if extra == 0 or est.ci_low <= 0 or est.ratio <= 0:
            return est
        log_r = math.log(est.ratio)
        below = math.hypot(log_r - math.log(est.ci_low), extra)
        above = math.hypot(math.log(est.ci_high) - log_r, extra)
        return RatioEstimate(
            est.ratio, math.exp(log_r - below), math.exp(log_r + above), est.log_replicates
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "sd_log": self.sd_log,
            "case_sd_log": self.case_sd_log,
            "machine_sd_log": self.machine_sd_log,
            "cases": self.cases,
            "checkpoints": self.checkpoints,
            "shift_log": self.shift_log,
            "shift_se_log": self.shift_se_log if self.shift_log is not None else None,
            "bulk_cases": self.bulk,
            "case_dof": _finite(self.case_dof) if self.cases else None,
            "machine_dof": _finite(self.machine_dof) if self.checkpoints else None,
            "note": self.note,
        }


def _two_sided(deviation: float, sd: float, dof: float = math.inf) -> float:
    """Two-sided p of ``deviation`` with scale ``sd``: Student's ``t`` with ``dof`` degrees of
    freedom, the normal law when ``dof`` is infinite (0 sd: 0 or 1)."""
    if sd == 0:
        return 0.0 if deviation else 1.0
    if math.isinf(dof):
        return math.erfc(abs(deviation) / sd / math.sqrt(2))
    from scipy import stats as sps

    return float(2 * sps.t.sf(abs(deviation) / sd, dof))


def satterthwaite(terms: Sequence[tuple[float, float]]) -> float:
    """Welch–Satterthwaite degrees of freedom of a sum of variances, each given as
    ``(variance, its degrees of freedom)``: ``(Σv)² / Σ(v²/ν)``; ``inf`` when every term
    with a variance is exact (``ν`` infinite)."""
    total = math.fsum(v for v, _ in terms)
    spread = math.fsum(v * v / nu for v, nu in terms if v > 0 and math.isfinite(nu))
    return total * total / spread if spread > 0 else math.inf


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def se_log(est: RatioEstimate) -> float:
    """Standard deviation of an estimate's bootstrap log-ratio replicates (0 without any)."""
    reps = est.log_replicates
    return float(np.std(reps, ddof=1)) if reps.size > 1 else 0.0


def checkpoint_logs(run: RunResult) -> list[float]:
    """Log of the median of each canary checkpoint of ``run`` that has samples."""
    out: list[float] = []
    for point in (canary_of(run) or {}).get("points") or []:
        samples = point.get("samples_ms") if isinstance(point, dict) else None
        if isinstance(samples, list):
            values = [float(s) for s in samples if isinstance(s, (int, float)) and s > 0]
            if values:
                out.append(math.log(float(np.median(values))))
    return out


def machine_wander(base: RunResult, current: RunResult, normalised: bool) -> tuple[float, int]:
    """``σ_m`` and the checkpoints it came from (:func:`wander`, without its degrees of
    freedom)."""
    sigma, points, _ = wander(base, current, normalised)
    return sigma, points


def wander(base: RunResult, current: RunResult, normalised: bool) -> tuple[float, int, int]:
    """``σ_m``, the checkpoints it came from, and its degrees of freedom (0: no estimate).

    When the gate divides the canary out (``normalised``), each run's checkpoints are taken
    about their own mean (the shift between the runs is corrected, its wander is not);
    otherwise all checkpoints about their common mean (the shift itself is uncorrected
    noise). Canaries of different kernels (an older file) are each taken about their own
    mean: their levels are not comparable, their wander is.
    """
    sides = [checkpoint_logs(base), checkpoint_logs(current)]
    points = sum(len(s) for s in sides)
    if canary_kind(base) != canary_kind(current):
        normalised = True  # different kernels: only each run's own wander means anything
    if normalised:
        deviations = [x - float(np.mean(s)) for s in sides if len(s) > 1 for x in s]
        dof = sum(len(s) - 1 for s in sides if len(s) > 1)
    else:
        pooled = [x for s in sides for x in s]
        deviations = [x - float(np.mean(pooled)) for x in pooled] if pooled else []
        dof = len(pooled) - 1
    if dof < 1:
        return 0.0, 0, 0
    return math.sqrt(math.fsum(d * d for d in deviations) / dof), points, dof


def case_spread(estimates: Sequence[RatioEstimate]) -> float:
    """``τ`` from the tested cases' estimates (over their :func:`bulk`); 0 with fewer than
    :data:`MIN_CASES` in it."""
    return _spread(bulk(estimates))


def bulk(estimates: Sequence[RatioEstimate]) -> list[RatioEstimate]:
    """The usable estimates within :data:`BULK_CUT` ``Qn`` of the median log-ratio, the
    median and ``Qn`` re-taken over the kept cases until the set settles; every usable
    estimate when fewer than :data:`MIN_CASES` would be kept."""
    usable = _usable(estimates)
    if len(usable) < MIN_CASES:
        return usable
    logs = np.log([e.ratio for e in usable])
    keep = np.ones(len(usable), dtype=bool)
    for _ in range(_BULK_ROUNDS):
        centre, scale = float(np.median(logs[keep])), qn_scale(logs[keep])
        kept = np.abs(logs - centre) <= BULK_CUT * scale
        if int(kept.sum()) < MIN_CASES or np.array_equal(kept, keep):
            break
        keep = kept
    return [e for e, k in zip(usable, keep, strict=True) if k]


def _spread(core: Sequence[RatioEstimate]) -> float:
    if len(core) < MIN_CASES:
        return 0.0
    spread = qn_scale(np.log([e.ratio for e in core]))
    return math.sqrt(max(0.0, spread**2 - _within(core)))


def _usable(estimates: Sequence[RatioEstimate]) -> list[RatioEstimate]:
    return [e for e in estimates if e.ratio > 0 and math.isfinite(e.ratio)]


def _within(usable: Sequence[RatioEstimate]) -> float:
    """The median bootstrap variance of the cases' log-ratios (their own samples' noise)."""
    return float(np.median([se_log(e) ** 2 for e in usable]))


def qn_scale(values: Sequence[float] | np.ndarray) -> float:
    """Rousseeuw–Croux ``Qn``: a robust standard deviation with a 50% breakdown point.

    The ``k``-th smallest of the pairwise distances ``|xᵢ − xⱼ|`` (``k = C(h, 2)``,
    ``h = ⌊n/2⌋ + 1``), times the normal-consistency constant and the finite-sample factor.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    if x.size > QN_MAX_CASES:
        x = x[np.linspace(0, x.size - 1, QN_MAX_CASES).round().astype(int)]
    n = int(x.size)
    if n < 2:
        return 0.0
    h = n // 2 + 1
    k = h * (h - 1) // 2
    distances = np.abs(x[:, None] - x[None, :])[np.triu_indices(n, 1)]
    kth = float(np.partition(distances, k - 1)[k - 1])
    factor = _QN_SMALL.get(n) or (n / (n + 1.4) if n % 2 else n / (n + 3.8))
    return _QN_NORMAL * factor * kth


def estimate_run_noise(
    base: RunResult,
    current: RunResult,
    estimates: Sequence[RatioEstimate],
    normalised: bool,
) -> RunNoise:
    """The run-to-run noise of a gate from its runs' canaries and its tested cases."""
    sigma_m, checkpoints, machine_dof = wander(base, current, normalised)
    core = bulk(estimates)
    enough = len(core) >= MIN_CASES
    tau = _spread(core)
    noise = RunNoise(
        tau,
        sigma_m,
        len(estimates) if enough else 0,
        checkpoints,
        bulk=len(core) if enough else 0,
        case_dof=_QN_EFFICIENCY * (len(core) - 1) if enough else math.inf,
        machine_dof=machine_dof if machine_dof else math.inf,
    )
    shift = _shift(core, tau)
    if shift is not None:
        noise = replace(noise, shift_log=shift[0], shift_se_log=shift[1])
    return replace(noise, note=describe(noise, len(estimates)))


def common_shift(estimates: Sequence[RatioEstimate], tau: float) -> tuple[float, float] | None:
    """``ĉ`` and ``se(ĉ)``: the median log-ratio of the tested cases' :func:`bulk` and its
    standard error (the median's ``π/2`` variance factor over the cases' whole spread); None
    with fewer than :data:`MIN_CASES` cases in the bulk."""
    return _shift(bulk(estimates), tau)


def _shift(core: Sequence[RatioEstimate], tau: float) -> tuple[float, float] | None:
    if len(core) < MIN_CASES:
        return None
    centre = float(np.median(np.log([e.ratio for e in core])))
    return centre, math.sqrt(math.pi / 2 * (tau**2 + _within(core)) / len(core))


def describe(noise: RunNoise, tested: int) -> str:
    """The run-to-run noise line: both terms, and what was missing."""
    machine = (f"canary wander ±{_pct(noise.machine_sd_log)}" if noise.checkpoints
               else "no canary: machine wander not counted")  # fmt: skip
    spread = (f"case spread ±{_pct(noise.case_sd_log)}{_outside(noise)}" if noise.cases
              else f"case spread needs {MIN_CASES} tested cases, has {tested}")  # fmt: skip
    shift = (f"; common shift {_signed(noise.shift_log)} ±{_pct(noise.shift_se_log)}"
             if noise.shift_log is not None else "")  # fmt: skip
    return (
        f"run-to-run noise ±{_pct(noise.sd_log)} ({machine}; {spread}{shift}); "
        "cases tested against it"
    )


def _outside(noise: RunNoise) -> str:
    """Which cases the spread came from, when the bulk left some out (they are still
    tested, against it)."""
    return f" from {noise.bulk} of {noise.cases} cases" if 0 < noise.bulk < noise.cases else ""


def _signed(x: float) -> str:
    return f"{math.expm1(x) * 100:+.1f}%"


def _pct(x: float) -> str:
    return f"{math.expm1(x) * 100:.1f}%"
