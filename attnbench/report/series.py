"""The numbers behind the report plots: one series per run, variant line and facet.

A *facet* is one panel of a figure: a pass, head dim and causal flag. A *line* within it is one
variant (with any other parameter that varies across the runs, such as the dtype or a variant's
``iters``) from one run. Its points are the cases ordered by sequence length; cases that did not
run (``skipped``, ``oom``, ``failed``) stay in the series as points without a value, so the plot
can mark them where they would have been.

Everything here is plain data (no matplotlib), so the tests pin these numbers instead of pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from attnbench.report.rows import variant_params
from attnbench.results.schema import STATUS_OK, CaseResult, RunResult

FACET_KEYS: tuple[str, ...] = ("pass", "head_dim", "causal")
"""Parameters that split a figure into panels."""

LINE_KEYS: tuple[str, ...] = ("dtype", "batch", "heads", "head_dim_v")
"""Shape parameters that split a panel into lines when they vary (besides the variant's own)."""


@dataclass(frozen=True)
class RunInput:
    """A loaded run with the label that names it in legends and tables."""

    label: str
    path: str
    run: RunResult


@dataclass(frozen=True)
class PlotMetric:
    """What one figure shows: a value per case and, optionally, an interval around it.

    ``value`` returns the plotted number (None when the case has none); ``interval`` returns
    (low, high) in the same unit, e.g. the time quartiles, or None.
    """

    key: str
    title: str
    unit: str
    value: Callable[[CaseResult], float | None]
    interval: Callable[[CaseResult], tuple[float, float] | None] | None = None
    fallback: Callable[[CaseResult], float | None] | None = None
    """For a case that did not run: a value it would have had (e.g. the memory estimate)."""


def _metric(key: str) -> Callable[[CaseResult], float | None]:
    def get(case: CaseResult) -> float | None:
        value = case.metric(key)
        return value if value is not None and value > 0 else None

    return get


def _time_quartiles(case: CaseResult) -> tuple[float, float] | None:
    q1, q3 = case.metric("time/q1_ms"), case.metric("time/q3_ms")
    if q1 is None or q3 is None or q1 <= 0:
        return None
    return q1, q3


def _tflops_interval(case: CaseResult) -> tuple[float, float] | None:
    """TFLOP/s at the third and first time quartiles (slower time, lower throughput)."""
    quartiles = _time_quartiles(case)
    flops = case.metric("flops/count")
    if quartiles is None or flops is None or quartiles[0] <= 0:
        return None
    q1, q3 = quartiles
    return flops / (q3 * 1e-3) / 1e12, flops / (q1 * 1e-3) / 1e12


def joules_per_token(case: CaseResult) -> float | None:
    """``energy/joules_per_token``, else joules per call over B·N tokens; None when unmeasured."""
    stored = case.metric("energy/joules_per_token")
    if stored is not None and stored > 0:
        return stored
    per_call = case.metric("energy/joules_per_call")
    tokens = _int(case.params.get("batch"), 1) * _int(case.params.get("seq_len"), 0)
    if per_call is None or per_call <= 0 or tokens <= 0:
        return None
    return per_call / tokens


def _ratio_interval(case: CaseResult) -> tuple[float, float] | None:
    low, high = case.metric("ratio/ci_low"), case.metric("ratio/ci_high")
    if low is None or high is None or low <= 0 or high < low:
        return None
    return low, high


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


TIME = PlotMetric("time", "median time per call", "ms", _metric("time/median_ms"), _time_quartiles)
TFLOPS = PlotMetric(
    "tflops", "throughput", "TFLOP/s", _metric("throughput/tflops"), _tflops_interval
)
MEMORY = PlotMetric(
    "memory",
    "peak memory",
    "bytes",
    _metric("memory/peak_bytes"),
    fallback=_metric("memory/estimate_bytes"),
)
ENERGY = PlotMetric("energy", "energy per token", "J", joules_per_token)
RATIO = PlotMetric(
    "ratio", "time ratio to the run's baseline", "×", _metric("ratio/to_baseline"), _ratio_interval
)
METRICS: tuple[PlotMetric, ...] = (TIME, TFLOPS, MEMORY, ENERGY, RATIO)


@dataclass(frozen=True)
class Point:
    """One case on a line: sequence length, value and interval (None when absent)."""

    seq_len: int
    status: str
    value: float | None
    low: float | None = None
    high: float | None = None
    estimate: float | None = None
    """For a case that did not run: the metric's fallback value (e.g. the memory estimate)."""
    case_id: str = ""
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq_len": self.seq_len, "status": self.status}
        for name in ("value", "low", "high", "estimate"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out["case_id"] = self.case_id
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Series:
    """One line of one panel: a run's variant at fixed facet, ordered by sequence length."""

    run: str
    variant: str
    line: str
    facet: tuple[tuple[str, Any], ...]
    points: tuple[Point, ...]

    def ok_points(self) -> list[Point]:
        """Points that ran and have a positive value."""
        return [p for p in self.points if p.value is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "variant": self.variant,
            "line": self.line,
            "facet": dict(self.facet),
            "points": [p.to_dict() for p in self.points],
        }


def facet_of(case: CaseResult) -> tuple[tuple[str, Any], ...]:
    """The panel a case belongs to: ``(("pass", "fwd"), ("head_dim", 64), ("causal", False))``."""
    return tuple((k, case.params.get(k)) for k in FACET_KEYS)


def facet_title(facet: tuple[tuple[str, Any], ...]) -> str:
    """``fwd · d64 · causal`` for a panel title."""
    parts = []
    for key, value in facet:
        if key == "head_dim":
            parts.append(f"d{value}")
        elif key == "causal":
            parts.append("causal" if value else "full")
        else:
            parts.append(str(value))
    return " · ".join(parts)


def _line_keys(runs: Sequence[RunInput]) -> dict[str, list[str]]:
    """Variant → the keys that split its lines: shape keys that vary across all runs, and the
    variant's own parameters that vary among its cases."""
    cases = [c for r in runs for c in r.run.cases]
    shape = [k for k in LINE_KEYS if len({repr(c.params.get(k)) for c in cases}) > 1]
    out: dict[str, list[str]] = {}
    for name in dict.fromkeys(c.variant for c in cases):
        mine = [c for c in cases if c.variant == name]
        own = sorted({k for c in mine for k in variant_params(c.params)})
        out[name] = shape + [k for k in own if len({repr(c.params.get(k)) for c in mine}) > 1]
    return out


def _line_name(case: CaseResult, keys: Sequence[str]) -> str:
    extra = []
    for key in keys:
        if key not in case.params:
            continue
        value = case.params[key]
        extra.append(str(value) if key == "dtype" else f"{key}={value}")
    return " ".join([case.variant, *extra])


def _point(case: CaseResult, metric: PlotMetric) -> Point:
    n = _int(case.params.get("seq_len"), 0)
    ok = case.status == STATUS_OK
    value = metric.value(case) if ok else None
    interval = metric.interval(case) if ok and metric.interval and value is not None else None
    if interval is not None and value is not None:
        # the stored value and the one derived from quartiles can differ in the last bit
        interval = (min(interval[0], value), max(interval[1], value))
    estimate = metric.fallback(case) if not ok and metric.fallback else None
    reason = case.reason.strip().splitlines()[0] if case.reason.strip() else ""
    return Point(
        seq_len=n,
        status=case.status,
        value=value,
        low=interval[0] if interval else None,
        high=interval[1] if interval else None,
        estimate=estimate,
        case_id=case.case_id,
        reason=reason,
    )


def build_series(runs: Sequence[RunInput], metric: PlotMetric) -> list[Series]:
    """Every line of ``metric`` across ``runs``, in run order, then variant order.

    A line with no value at all (an unmeasured metric, e.g. energy without NVML or RAPL) is
    left out unless some of its cases did not run, so a figure appears only where something
    was measured; :func:`has_values` says whether any line of a metric has a value.
    """
    keys = _line_keys(runs)
    grouped: dict[tuple[str, str, tuple[tuple[str, Any], ...]], list[CaseResult]] = {}
    variant_of: dict[str, str] = {}
    for r in runs:
        for case in r.run.cases:
            line = _line_name(case, keys[case.variant])
            variant_of[line] = case.variant
            grouped.setdefault((r.label, line, facet_of(case)), []).append(case)
    out = []
    for (label, line, facet), cases in grouped.items():
        points = sorted((_point(c, metric) for c in cases), key=lambda p: p.seq_len)
        out.append(Series(label, variant_of[line], line, facet, tuple(points)))
    return [s for s in out if s.ok_points() or any(p.status != STATUS_OK for p in s.points)]


def has_values(series: Sequence[Series]) -> bool:
    """Whether any point of any line carries a value (the figure is worth drawing)."""
    return any(s.ok_points() for s in series)


def facets(series: Sequence[Series]) -> list[tuple[tuple[str, Any], ...]]:
    """The panels in a stable order: pass as first met, then head dim, then full before causal."""
    seen = list(dict.fromkeys(s.facet for s in series))
    pass_rank = {p: i for i, p in enumerate(dict.fromkeys(dict(f)["pass"] for f in seen))}

    def key(f: tuple[tuple[str, Any], ...]) -> tuple[int, float, bool]:
        d = dict(f)
        head_dim = d["head_dim"] if isinstance(d["head_dim"], (int, float)) else 0
        return pass_rank[d["pass"]], float(head_dim), bool(d["causal"])

    return sorted(seen, key=key)
