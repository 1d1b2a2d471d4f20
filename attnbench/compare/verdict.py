"""One case's verdict from its evidence, direction-aware, after the Holm adjustment.

``slower`` (a confirmed regression) needs all of: the ratio worse than the threshold, the
Holm-adjusted p at or below α = 0.05 (the larger of the Mann–Whitney p on the raw samples
and the p against run-to-run noise, :mod:`attnbench.compare.noise`), and (for time metrics)
an absolute change above the floor. ``faster`` is the mirror image. ``same``: the 95%
interval (widened by the run-to-run noise) lies inside ``1 ± threshold`` (or the change is
below the floor); the smallest change the pair could have detected is stated. Anything else
is ``ambiguous``, with the samples per run that would resolve the threshold at the measured
noise, or the statement that no number of samples would (run-to-run noise too large).
"Worse" follows the metric's catalog direction: a higher time or memory, a lower TFLOP/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from attnbench.compare.estimate import TIME_METRIC, Evidence
from attnbench.compare.noise import RunNoise, se_log
from attnbench.compare.policy import CaseSettings
from attnbench.compare.stats import (
    ALPHA,
    RatioEstimate,
    mde_from,
    min_samples_for_level,
    samples_needed,
    z_power,
)

SLOWER, FASTER, SAME, AMBIGUOUS = "slower", "faster", "same", "ambiguous"
INCOMPARABLE, NEW, MISSING, FAILED = "incomparable", "new", "missing", "failed"
IGNORED, NOT_RUN = "ignored", "not_run"
UNRELIABLE = ("HIGH_NOISE",)
"""Warning codes that mark a measurement too noisy to confirm a change (either run)."""
VERDICTS = (FAILED, SLOWER, AMBIGUOUS, MISSING, INCOMPARABLE, NEW, FASTER, SAME)
"""The gate's verdicts, most serious first (the order of every listing)."""
NOT_JUDGED = (IGNORED, NOT_RUN)
"""Listed in the JSON and counted, but not verdicts: ignored by policy, ran in neither run."""
MARKS = {
    FAILED: "!",
    SLOWER: "+",
    AMBIGUOUS: "~",
    MISSING: "?",
    INCOMPARABLE: "x",
    NEW: "N",
    FASTER: "-",
    SAME: "=",
    IGNORED: " ",
    NOT_RUN: " ",
}
"""One distinct mark per verdict (ASCII, so logs and comments show it everywhere)."""


@dataclass(frozen=True)
class CaseVerdict:
    """The gate's finding for one case id (fractions for thresholds and MDE)."""

    case_id: str
    variant: str
    verdict: str
    settings: CaseSettings
    direction: str = "lower"
    evidence: Evidence | None = None
    p_adjusted: float | None = None
    mde: float | None = None
    samples_needed: int | None = None
    reason: str = ""
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    """The case's parameters (for compact shapes in tables)."""

    @property
    def estimate(self) -> RatioEstimate | None:
        return self.evidence.estimate if self.evidence else None

    def to_dict(self) -> dict[str, Any]:
        ev, est = self.evidence, self.estimate

        def finite(x: float | None) -> float | None:
            return x if x is not None and math.isfinite(x) else None

        return {
            "case_id": self.case_id,
            "variant": self.variant,
            "verdict": self.verdict,
            "metric": self.settings.metric,
            "direction": self.direction,
            "max_regression": self.settings.max_regression,
            "floor_ms": self.settings.floor_ms,
            "baseline": ev.baseline if ev else None,
            "current": ev.current if ev else None,
            "ratio": finite(est.ratio) if est else None,
            "ci_low": finite(est.ci_low) if est else None,
            "ci_high": finite(est.ci_high) if est else None,
            "p": ev.p if ev else None,
            "p_run": ev.p_run if ev else None,
            "p_adjusted": self.p_adjusted,
            "mde": finite(self.mde),
            "samples_needed": self.samples_needed,
            "samples": [ev.n_baseline, ev.n_current] if ev else None,
            "change_ms": ev.change_ms if ev else None,
            "normalised": ev.normalised if ev else False,
            "reason": self.reason,
        }


def worse_factor(ratio: float, direction: str) -> float:
    """How many times worse ``current / baseline = ratio`` is (> 1 worse, < 1 better)."""
    if direction == "higher":
        return math.inf if ratio == 0 else 1 / ratio
    return ratio


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _detectable(ev: Evidence, s: CaseSettings, alpha: float, noise: RunNoise) -> float:
    """Smallest relative change the pair could have confirmed: the largest of the sample
    test's, the run-to-run test's (both at 80% power) and the floor's."""
    stat = mde_from(ev.sd_log or 0.0, ev.n_baseline, ev.n_current, alpha)
    run = 0.0
    if (noise.sd_log > 0 or noise.routes > 1) and ev.estimate is not None:
        run = math.expm1(noise.detect_log(se_log(ev.estimate), alpha))
    floor = 0.0
    if s.metric == TIME_METRIC and ev.baseline:
        floor = s.floor_ms / ev.baseline
    return max(stat, run, floor)


def decide(
    case_id: str,
    variant: str,
    ev: Evidence,
    s: CaseSettings,
    direction: str,
    p_adjusted: float | None,
    tests: int,
    unreliable: str = "",
    noise: RunNoise | None = None,
) -> CaseVerdict:
    """The verdict of one matched, comparable case (see the module docstring).

    Args:
        p_adjusted: Holm-adjusted p (None for one-value metrics).
        tests: how many cases the adjustment covered (sets the level the MDE is stated at:
            α / tests, Holm's strictest step).
        unreliable: why the measurement cannot confirm a change (a run flagged it
            ``HIGH_NOISE``); a would-be ``slower`` or ``faster`` is then ``ambiguous``.
        noise: the gate's run-to-run noise; ``ev.estimate`` already carries the interval
            it widened. It enters the detectable change and the samples needed.
    """
    noise = noise or RunNoise()
    base = CaseVerdict(case_id, variant, AMBIGUOUS, s, direction, ev, p_adjusted)
    est = ev.estimate
    if est is None:
        return _with(base, AMBIGUOUS, ev.note or "no ratio could be formed")
    t = s.max_regression
    worse = worse_factor(est.ratio, direction)
    lo, hi = sorted((worse_factor(est.ci_low, direction), worse_factor(est.ci_high, direction)))
    if not ev.tested:
        verdict = SLOWER if worse > 1 + t else FASTER if worse < 1 - t else SAME
        return _with(base, verdict, ev.note)
    level = ALPHA / max(tests, 1)
    detectable = _detectable(ev, s, level, noise)
    significant = p_adjusted is not None and p_adjusted <= ALPHA
    beyond_floor = ev.change_ms is None or ev.change_ms > s.floor_ms
    if significant and (worse > 1 + t or worse < 1 - t):
        if beyond_floor and unreliable:
            return _with(base, AMBIGUOUS, f"{unreliable}, not confirmed", mde_=detectable)
        if beyond_floor:
            return _with(base, SLOWER if worse > 1 + t else FASTER, _drift_note(ev))
        return _with(
            base,
            SAME,
            f"change of {ev.change_ms:.4g} ms is below the floor ({s.floor_ms:g} ms)",
            mde_=detectable,
        )
    if lo >= 1 - t and hi <= 1 + t:
        return _with(base, SAME, _drift_note(ev), mde_=detectable)
    run_bound = ev.p_run is not None and ev.p is not None and ev.p_run > max(ev.p, ALPHA)
    if significant:
        why = f"interval crosses ±{_pct(t)}"
    elif run_bound:
        floor = math.expm1(noise.detect_sd_log(0.0))
        why = f"not significant against run-to-run noise (±{_pct(floor)})"
    else:
        why = "not significant"
    need = None
    if t > 0 and ev.sd_log is not None:
        # the log-change the run-to-run noise alone hides, which no number of samples per
        # run reduces (the easier route's)
        run_floor_log = noise.detect_log(0.0, level)
        if run_floor_log >= math.log1p(t):
            why += (
                f"; run-to-run noise is too large to resolve ±{_pct(t)} with any number of "
                "samples: gate on a quieter machine (a dedicated runner) or with a larger "
                "--max-regression"
            )
        else:
            share = level / noise.routes
            # the run-to-run term as the normal-law sd that needs the same change
            run_sd = run_floor_log / z_power(share)
            need = max(
                samples_needed(ev.sd_log, t, share, run_sd), min_samples_for_level(level)
            )
    return _with(base, AMBIGUOUS, why, mde_=detectable, need=need)


def _drift_note(ev: Evidence) -> str:
    return "canary-normalised" if ev.normalised else ""


def _with(
    v: CaseVerdict, verdict: str, reason: str, mde_: float | None = None, need: int | None = None
) -> CaseVerdict:
    return replace(v, verdict=verdict, reason=reason, mde=mde_, samples_needed=need)
