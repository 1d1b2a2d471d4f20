"""Cell formatting shared by the compare and gate renderings: values, ratios, p, notes."""

from __future__ import annotations

import math

from attnbench.compare.stats import RatioEstimate
from attnbench.compare.verdict import AMBIGUOUS, SAME, CaseVerdict
from attnbench.metrics.catalog import metric as catalog_metric
from attnbench.report.format import (
    DASH,
    format_bytes,
    format_energy,
    format_percent,
    format_sig,
    format_time,
)


def format_value(key: str, value: float | None) -> str:
    """A metric value in its catalog unit (``81.2 µs``, ``1.50 KiB``, ``12.3 mJ``, ``312``)."""
    if value is None or not math.isfinite(value):
        return DASH
    unit = catalog_metric(key).unit
    if unit == "ms":
        return format_time(value)
    if unit == "bytes":
        return format_bytes(value)
    if unit == "J":
        return format_energy(value)
    if unit == "%":
        return f"{format_sig(value, 3)}%"
    return format_sig(value, 3)


def ratio_text(est: RatioEstimate | None) -> str:
    """``1.103×``; ``–`` without a ratio."""
    if est is None or not math.isfinite(est.ratio):
        return DASH if est is None else "inf×"
    return f"{_r(est.ratio)}×"


def _r(x: float) -> str:
    """A ratio: three decimals between 0.1 and 10, else three significant figures."""
    return f"{x:.3f}" if 0.1 <= x < 10 else format_sig(x, 3)


def interval_text(est: RatioEstimate | None) -> str:
    """``[1.081, 1.121]``; empty for a ratio without an interval (one value per case)."""
    if est is None or not est.log_replicates.size:
        return ""
    return f"[{_r(est.ci_low)}, {_r(est.ci_high)}]"


def p_text(p: float | None) -> str:
    """A p-value with two significant figures (``0.032``, ``8.9e-14``); empty when untested."""
    if p is None:
        return ""
    if p >= 0.001:
        return f"{p:.2g}"
    return f"{p:.1e}"


def note_text(c: CaseVerdict) -> str:
    """What the user should know about a verdict: MDE, samples needed, or the reason."""
    parts = [c.reason] if c.reason else []
    if c.verdict == SAME and c.mde is not None:
        parts.append("MDE " + ("–" if not math.isfinite(c.mde) else format_percent(c.mde)))
    if c.verdict == AMBIGUOUS and c.samples_needed is not None:
        parts.append(f"~{c.samples_needed} samples/run would resolve it")
    return "; ".join(parts)


def threshold_text(fraction: float) -> str:
    """``5%`` for 0.05."""
    return f"{fraction * 100:g}%"
