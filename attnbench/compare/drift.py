"""Machine drift: the canary's ratio between two runs, and whether it moved.

The canary (see :mod:`attnbench.measure.canary`) is timed at the start, middle and end of
each run. Its ratio is ``median(current canary samples) / median(baseline canary samples)``,
all points of a run pooled, with the same bootstrap interval as a case. The machine **moved**
when that 95% interval lies entirely outside ``1 ± DRIFT_MARGIN`` and neither run's canary is
itself too noisy (relative IQR above ``MAX_CANARY_REL_IQR``: an overloaded machine, whose
stalls no single factor describes; the gate then says so and judges raw ratios). Then the
gate divides every time ratio by the canary's (combining both bootstraps, so the interval
widens honestly) and says so in one line. Without a canary in both files the gate judges
raw ratios and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from attnbench.compare.stats import RatioEstimate, ratio_of_medians
from attnbench.metrics.stats import rel_iqr
from attnbench.results.schema import RunResult

DRIFT_MARGIN = 0.01
"""A canary change inside ±1% is never called drift, however tight its interval."""
MAX_CANARY_REL_IQR = 0.10
"""A canary noisier than this (relative IQR, the HIGH_NOISE level) cannot tell drift apart."""


@dataclass(frozen=True)
class Drift:
    """The canary comparison: its estimate (None without canaries), moved, and why not."""

    estimate: RatioEstimate | None
    moved: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        e = self.estimate
        return {
            "available": e is not None,
            "ratio": e.ratio if e else None,
            "ci_low": e.ci_low if e else None,
            "ci_high": e.ci_high if e else None,
            "moved": self.moved,
            "normalised": self.moved,
            "margin": DRIFT_MARGIN,
            "note": self.note,
        }


def canary_of(run: RunResult) -> dict[str, Any] | None:
    """The run's canary block, or None (older files, or a run without one)."""
    canary = run.run.get("canary")
    return canary if isinstance(canary, dict) else None


def canary_samples(run: RunResult) -> list[float]:
    """Every canary sample of ``run`` (ms per call), all points pooled."""
    canary = canary_of(run) or {}
    out: list[float] = []
    for point in canary.get("points") or []:
        samples = point.get("samples_ms") if isinstance(point, dict) else None
        if isinstance(samples, list):
            out += [float(s) for s in samples if isinstance(s, (int, float)) and s > 0]
    return out


def canary_kind(run: RunResult) -> tuple[Any, ...]:
    """What the run's canary timed: kernel, size or shape, dtype and device kind (two runs'
    canaries compare only when these are equal)."""
    canary = canary_of(run) or {}
    shape = canary.get("shape")
    return (
        canary.get("kernel"),
        canary.get("size"),
        tuple(shape) if isinstance(shape, list) else shape,
        canary.get("dtype"),
        canary.get("device"),
    )


def compare_canaries(base: RunResult, current: RunResult) -> Drift:
    """The canary ratio current / baseline and whether the machine moved."""
    for name, run in (("baseline", base), ("current", current)):
        if len(canary_samples(run)) < 2:
            return Drift(None, False, f"no canary in the {name} run: cases judged on raw ratios")
    if canary_kind(base) != canary_kind(current):
        return Drift(None, False, "the runs timed different canaries: cases judged on raw ratios")
    est = ratio_of_medians(canary_samples(base), canary_samples(current))
    for name, run in (("baseline", base), ("current", current)):
        noise = rel_iqr(canary_samples(run))
        if noise > MAX_CANARY_REL_IQR:
            return Drift(
                est,
                False,
                f"canary ratio {est.ratio:.3f}, but the {name} run's canary "
                f"is too noisy (relative IQR {noise * 100:.0f}%) to separate machine "
                "drift: cases judged on raw ratios",
            )
    moved = est.ci_low > 1 + DRIFT_MARGIN or est.ci_high < 1 - DRIFT_MARGIN
    return Drift(est, moved, describe(est, moved))


def describe(est: RatioEstimate, moved: bool) -> str:
    """The one drift line every output prints."""
    change = est.ratio - 1
    span = f"[{est.ci_low:.3f}, {est.ci_high:.3f}]"
    if moved:
        word = "slower" if change > 0 else "faster"
        return (
            f"machine drift: the canary ran {abs(change) * 100:.1f}% {word} "
            f"(ratio {est.ratio:.3f} {span}); cases are judged on canary-normalised ratios"
        )
    return f"canary ratio {est.ratio:.3f} {span}: no machine drift beyond its noise"
