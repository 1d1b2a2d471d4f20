"""``gate``: every case of a baseline and a current run judged, and the exit code.

Steps: refuse runs on different device models (exit 3, unless allowed); compare the
canaries; match cases by id; sort out the cases that cannot be judged (``new``, ``missing``,
``failed``, ``incomparable``, ignored by policy, run in neither); gather the evidence of the
rest; estimate the run-to-run noise (:mod:`attnbench.compare.noise`) and test each case
against it too; adjust the cases' p-values together with Holm; decide each verdict.

Exit codes: 1 when any case is ``slower`` or ``failed`` (``--strict``: also ``ambiguous`` or
``missing``); else 3 when not one common case could be judged; else 0. Improvements never
fail the gate.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from attnbench.compare.drift import Drift, compare_canaries
from attnbench.compare.estimate import SAMPLE_BACKED, Evidence, gather
from attnbench.compare.match import (
    case_ids,
    case_mismatch,
    device_mismatch,
    environment_mismatches,
    index,
    machine,
)
from attnbench.compare.noise import RunNoise, estimate_run_noise, se_log
from attnbench.compare.policy import CaseSettings, Policy
from attnbench.compare.stats import ALPHA, RatioEstimate, geomean, holm
from attnbench.compare.verdict import (
    AMBIGUOUS,
    FAILED,
    FASTER,
    IGNORED,
    INCOMPARABLE,
    MISSING,
    NEW,
    NOT_JUDGED,
    NOT_RUN,
    SAME,
    SLOWER,
    UNRELIABLE,
    VERDICTS,
    CaseVerdict,
    decide,
)
from attnbench.errors import EXIT_ENVIRONMENT, EXIT_OK, EXIT_REGRESSION, NotComparableError
from attnbench.metrics.catalog import metric as catalog_metric
from attnbench.results.schema import STATUS_OK, CaseResult, RunResult

JUDGED = (SLOWER, FASTER, SAME, AMBIGUOUS, FAILED)
"""Verdicts that mean a common case was actually compared."""
REGRESSIONS = (SLOWER, FAILED)
STRICT_EXTRA = (AMBIGUOUS, MISSING)


@dataclass(frozen=True)
class VariantMean:
    """Geometric mean of one variant's ratios over its judged, sample-backed cases."""

    variant: str
    estimate: RatioEstimate
    count: int

    def to_dict(self) -> dict[str, Any]:
        e = self.estimate
        return {
            "variant": self.variant,
            "ratio": e.ratio,
            "ci_low": e.ci_low,
            "ci_high": e.ci_high,
            "count": self.count,
        }


@dataclass(frozen=True)
class GateResult:
    """Everything the gate found; renderers and the JSON read only this."""

    baseline: str
    current: str
    cases: list[CaseVerdict]
    drift: Drift
    defaults: CaseSettings
    strict: bool
    exit_code: int
    notes: list[str] = field(default_factory=list)
    means: list[VariantMean] = field(default_factory=list)
    noise: RunNoise = field(default_factory=RunNoise)

    def counts(self) -> dict[str, int]:
        seen = Counter(c.verdict for c in self.cases)
        return {v: seen.get(v, 0) for v in (*VERDICTS, *NOT_JUDGED)}

    def by_severity(self) -> list[CaseVerdict]:
        rank = {v: i for i, v in enumerate((*VERDICTS, *NOT_JUDGED))}
        return sorted(self.cases, key=lambda c: rank[c.verdict])  # stable: run order kept

    def regressions(self) -> list[CaseVerdict]:
        return [c for c in self.cases if c.verdict in REGRESSIONS]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "attnbench.gate/1",
            "baseline": self.baseline,
            "current": self.current,
            "exit_code": self.exit_code,
            "strict": self.strict,
            "alpha": ALPHA,
            "defaults": {
                "metric": self.defaults.metric,
                "max_regression": self.defaults.max_regression,
                "floor_ms": self.defaults.floor_ms,
            },
            "counts": self.counts(),
            "drift": self.drift.to_dict(),
            "run_noise": self.noise.to_dict(),
            "notes": self.notes,
            "geomean": [m.to_dict() for m in self.means],
            "cases": [c.to_dict() for c in self.cases],
        }


def _unjudged(
    case_id: str,
    base: CaseResult | None,
    cur: CaseResult | None,
    s: CaseSettings,
    env_reasons: list[str],
) -> CaseVerdict | None:
    """The verdict of a case that is not measured in both runs, or None to judge it."""
    either = cur or base
    variant = either.variant if either else ""

    def v(verdict: str, reason: str) -> CaseVerdict:
        return CaseVerdict(case_id, variant, verdict, s, reason=reason)

    if s.ignore:
        return v(IGNORED, s.reason or "ignored by policy")
    if base is None:
        return v(NEW, "only in the current run")
    if cur is None:
        return v(MISSING, "only in the baseline run")
    base_ok, cur_ok = base.status == STATUS_OK, cur.status == STATUS_OK
    if base_ok and not cur_ok:
        if cur.status == "skipped":
            return v(MISSING, f"skipped now: {cur.reason.strip()[:200]}")
        return v(FAILED, f"{cur.status} now: {cur.reason.strip()[:200]}")
    if not base_ok:
        if cur_ok:
            return v(NEW, f"{base.status} in the baseline, ok now")
        return v(NOT_RUN, f"{base.status} / {cur.status}")
    problem = case_mismatch(base, cur)
    if problem or env_reasons:
        return v(INCOMPARABLE, problem or "; ".join(env_reasons))
    return None


def _unreliable(base: CaseResult, current: CaseResult) -> str:
    """``HIGH_NOISE in current`` when a run flagged the case, else empty."""
    for name, case in (("baseline", base), ("current", current)):
        codes = [w for w in case.warnings if w in UNRELIABLE]
        if codes:
            return f"{codes[0]} in {name}"
    return ""


def _params(base: CaseResult | None, current: CaseResult | None) -> dict[str, Any]:
    either = current or base
    return dict(either.params) if either else {}


def exit_code(verdicts: list[CaseVerdict], strict: bool) -> int:
    """1 for a regression (strict: also ambiguous/missing), 3 when nothing was judged, else 0."""
    found = {c.verdict for c in verdicts}
    if found & set(REGRESSIONS) or (strict and found & set(STRICT_EXTRA)):
        return EXIT_REGRESSION
    if not found & set(JUDGED):
        return EXIT_ENVIRONMENT
    return EXIT_OK


def gate_runs(
    base: RunResult,
    current: RunResult,
    *,
    defaults: CaseSettings,
    policy: Policy | None = None,
    strict: bool = False,
    allow_different_device: bool = False,
    names: tuple[str, str] = ("baseline", "current"),
) -> GateResult:
    """Judge every case of ``current`` against ``base``.

    Raises:
        NotComparableError: (exit 3) different device models without
            ``allow_different_device``, or no case id in common.
    """
    policy = policy or Policy()
    mb, mc = machine(base), machine(current)
    notes: list[str] = []
    mismatch = device_mismatch(mb, mc)
    if mismatch and not allow_different_device:
        raise NotComparableError(
            f"{names[0]} and {names[1]} cannot be gated against each other: {mismatch}. "
            "Compare them with `attnbench compare`, or pass --allow-different-device."
        )
    if mismatch:
        notes.append(f"{mismatch} (allowed by --allow-different-device)")
    env_reasons = environment_mismatches(mb, mc)
    notes += [f"{r}: every case is incomparable" for r in env_reasons]
    bi, ci = index(base), index(current)
    if not set(bi) & set(ci):
        raise NotComparableError(f"{names[0]} and {names[1]} have no case in common")
    drift = compare_canaries(base, current)
    canary = drift.estimate if drift.moved else None
    ids = case_ids([base, current])
    pending: list[tuple[str, str, CaseSettings, Evidence, str, str]] = []
    verdicts: dict[str, CaseVerdict] = {}
    for case_id in ids:
        b, c = bi.get(case_id), ci.get(case_id)
        either = c or b
        variant = either.variant if either else ""
        s = policy.for_case(case_id, variant, defaults)
        early = _unjudged(case_id, b, c, s, env_reasons)
        if early is not None:
            verdicts[case_id] = early
            continue
        assert b is not None and c is not None
        direction: str = catalog_metric(s.metric).direction
        norm = canary if s.metric in SAMPLE_BACKED else None
        pending.append(
            (case_id, variant, s, gather(b, c, s.metric, norm), direction, _unreliable(b, c))
        )
    tested = [i for i, p in enumerate(pending) if p[3].p is not None]
    noise = estimate_run_noise(
        base, current, [e for i in tested if (e := pending[i][3].estimate)], drift.moved
    )
    pending = [(*p[:3], _against_noise(p[3], noise), *p[4:]) for p in pending]
    adjusted = holm([pending[i][3].p_decision or 1.0 for i in tested])
    adj_of = dict(zip(tested, adjusted, strict=True))
    for i, (case_id, variant, s, ev, direction, flag) in enumerate(pending):
        verdicts[case_id] = decide(
            case_id, variant, ev, s, direction, adj_of.get(i), len(tested), flag, noise
        )
    cases = [replace(verdicts[i], params=_params(bi.get(i), ci.get(i))) for i in ids]
    unused = policy.unused_rules([(c.case_id, c.variant) for c in cases])
    notes += [f"policy rule at {r.where} matched no case" for r in unused]
    return GateResult(
        baseline=names[0],
        current=names[1],
        cases=cases,
        drift=drift,
        defaults=defaults,
        strict=strict,
        exit_code=exit_code(cases, strict),
        notes=notes,
        means=variant_means(cases, defaults.metric, noise),
        noise=noise,
    )


def _against_noise(ev: Evidence, noise: RunNoise) -> Evidence:
    """``ev`` with its p against the run-to-run noise and its interval widened by it."""
    est = ev.estimate
    if ev.p is None or est is None or est.ratio <= 0 or not math.isfinite(est.ratio):
        return ev
    p_run = noise.p(math.log(est.ratio), se_log(est))
    return replace(ev, p_run=p_run, estimate=noise.widened(est))


def variant_means(
    cases: list[CaseVerdict], metric: str, noise: RunNoise | None = None
) -> list[VariantMean]:
    """Per variant, the geometric-mean ratio of ``metric`` over its judged cases that have
    bootstrap replicates (cases a policy moved to another metric are left out); its interval
    widened by the run-to-run ``noise`` (the case spread averaged over the cases)."""
    noise = noise or RunNoise()
    groups: dict[str, list[RatioEstimate]] = {}
    for c in cases:
        est = c.estimate
        if (
            c.verdict in JUDGED
            and c.settings.metric == metric
            and est is not None
            and est.log_replicates.size
        ):
            groups.setdefault(c.variant, []).append(est)
    return [
        VariantMean(v, noise.widened(geomean(ests), shared=len(ests)), len(ests))
        for v, ests in groups.items()
    ]
