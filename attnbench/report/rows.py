"""The table every report renders: case order, compact shapes, formatted cells.

Console, Markdown and ratio tables all build on :func:`build_report` so that the same run reads
the same everywhere. Rows are ordered by variant (in the order the run first met them), then
pass, dtype, batch, heads, head dims and variant parameters, then causal, then sequence length
last, so each block reads as a scaling curve.

Shapes are compact: parameters that are the same for every case move to the header
(``fixed: b1 h16 d64 bf16 fwd``) and the shape column shows only what varies.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from attnbench.report.format import (
    DASH,
    NOT_AVAILABLE,
    format_bytes,
    format_energy,
    format_error,
    format_percent,
    format_ratio,
    format_sig,
    format_tflops,
    format_time,
    time_sig_figs,
)
from attnbench.results.schema import STATUS_OK, CaseResult, RunResult

BASE_KEYS: tuple[str, ...] = (
    "batch",
    "heads",
    "seq_len",
    "head_dim",
    "head_dim_v",
    "causal",
    "dtype",
    "pass",
)
"""Case parameters every variant has; anything else in ``params`` is a variant parameter."""

_SORT_KEYS: tuple[str, ...] = ("pass", "dtype", "batch", "heads", "head_dim", "head_dim_v")

STATUS_STYLE: dict[str, str] = {
    "ok": "green",
    "skipped": "yellow",
    "oom": "magenta",
    "failed": "bold red",
}


@dataclass(frozen=True)
class Column:
    """One report column: ``key`` into :attr:`Row.cells`, its header, numeric or not."""

    key: str
    header: str
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("variant", "variant"),
    Column("shape", "shape"),
    Column("status", "status"),
    Column("time", "median", numeric=True),
    Column("iqr", "±IQR", numeric=True),
    Column("tflops", "TFLOP/s", numeric=True),
    Column("memory", "peak mem", numeric=True),
    Column("error", "max err", numeric=True),
    Column("ratio", "× base (95%)", numeric=True),
    Column("backend", "backend"),
    Column("energy", "J/call", numeric=True),
    Column("notes", "notes"),
)


@dataclass(frozen=True)
class Row:
    """One case, formatted. ``first_of_variant`` starts a new variant block."""

    case: CaseResult
    cells: dict[str, str]
    first_of_variant: bool


def variant_params(params: dict[str, Any]) -> dict[str, Any]:
    """The variant's own parameters (``iters``, ``tau``...), without the shape keys."""
    return {k: v for k, v in params.items() if k not in BASE_KEYS}


def shape_key(params: dict[str, Any]) -> tuple[Any, ...]:
    """The shape part of ``params`` (no variant parameters): cases of different variants
    with equal keys ran the same problem."""
    return tuple(params.get(k) for k in BASE_KEYS)


def _token(key: str, value: Any) -> str:
    prefix = {"batch": "b", "heads": "h", "seq_len": "n", "head_dim": "d", "head_dim_v": "dv"}
    if key in prefix:
        return f"{prefix[key]}{value}"
    if key == "causal":
        return "causal" if value else "full"
    if key in ("dtype", "pass"):
        return str(value)
    if isinstance(value, float):
        return f"{key}={value:g}"
    if isinstance(value, (list, tuple)):
        return f"{key}={'x'.join(str(v) for v in value)}"
    return f"{key}={value}"


def _shown_tokens(params: dict[str, Any], keys: Iterable[str]) -> list[str]:
    out = []
    for key in keys:
        if key not in params:
            continue
        if key == "head_dim_v" and params[key] == params.get("head_dim"):
            continue
        out.append(_token(key, params[key]))
    return out


def _varying(cases: Sequence[CaseResult], keys: Iterable[str]) -> list[str]:
    return [k for k in keys if len({repr(c.params.get(k)) for c in cases}) > 1]


@dataclass(frozen=True)
class ShapePlan:
    """Which parameters the shape column shows and which the header states once."""

    base_varying: tuple[str, ...]
    variant_varying: dict[str, tuple[str, ...]]
    fixed: str

    def shape(self, case: CaseResult) -> str:
        """Compact shape of ``case``: its varying tokens, space separated."""
        keys = [*self.base_varying, *self.variant_varying.get(case.variant, ())]
        tokens = _shown_tokens(case.params, keys)
        return " ".join(tokens) or _token("seq_len", case.params.get("seq_len"))


def _base_varying(cases: Sequence[CaseResult]) -> tuple[str, ...]:
    varying = _varying(cases, BASE_KEYS)
    if "head_dim" in varying and "head_dim_v" not in varying:
        varying.insert(varying.index("head_dim") + 1, "head_dim_v")  # shown where D_v != D
    return tuple(varying)


def plan_shapes(cases: Sequence[CaseResult]) -> ShapePlan:
    """Split parameters into varying (shape column) and fixed (header) ones.

    Shape keys that vary anywhere in the run are shown on every row; a variant parameter is
    shown on the rows of its variant when it varies there, and stated once in ``fixed``
    (``dipole.v2 alpha=0.5 beta=0.5``) when it does not.
    """
    base_varying = _base_varying(cases)
    if not cases:
        return ShapePlan(base_varying, {}, "")
    fixed_base = [k for k in BASE_KEYS if k not in base_varying]
    groups = [" ".join(_shown_tokens(cases[0].params, fixed_base))]
    variant_varying: dict[str, tuple[str, ...]] = {}
    for name in _variant_order(cases):
        group = [c for c in cases if c.variant == name]
        own = sorted({k for c in group for k in variant_params(c.params)})
        variant_varying[name] = tuple(_varying(group, own))
        constant = [k for k in own if k not in variant_varying[name]]
        if constant:
            groups.append(" ".join([name, *_shown_tokens(group[0].params, constant)]))
    return ShapePlan(base_varying, variant_varying, " · ".join(g for g in groups if g))


def _variant_order(cases: Iterable[CaseResult]) -> list[str]:
    return list(dict.fromkeys(c.variant for c in cases))


def _sortable(value: Any) -> tuple[int, Any]:
    if isinstance(value, (bool, int, float)):
        return (0, float(value))
    return (1, repr(value))


def sort_key(case: CaseResult, variant_rank: dict[str, int]) -> tuple[Any, ...]:
    """Variant first, then shape with causal and sequence length last."""
    p = case.params
    return (
        variant_rank.get(case.variant, len(variant_rank)),
        *(_sortable(p.get(k)) for k in _SORT_KEYS),
        tuple((k, _sortable(v)) for k, v in sorted(variant_params(p).items())),
        _sortable(p.get("causal")),
        _sortable(p.get("seq_len")),
    )


def ordered_cases(cases: Sequence[CaseResult]) -> list[CaseResult]:
    """``cases`` in report order (see the module docstring)."""
    rank = {name: i for i, name in enumerate(_variant_order(cases))}
    return sorted(cases, key=lambda c: sort_key(c, rank))


def _metric_cells(case: CaseResult, missing: str) -> dict[str, str]:
    def fmt(key: str, fn: Callable[[float], str]) -> str:
        value = case.metric(key)
        return missing if value is None else fn(value)

    median = case.metric("time/median_ms")
    sig = time_sig_figs(case.metric("time/rel_iqr"), case.metric("time/samples"))
    estimate = case.metric("memory/estimate_bytes")
    memory = fmt("memory/peak_bytes", format_bytes)
    if case.metric("memory/peak_bytes") is None and estimate is not None:
        memory = "~" + format_bytes(estimate)
    energy = fmt("energy/joules_per_call", format_energy)
    if case.status == STATUS_OK and case.metric("energy/joules_per_call") is None:
        energy = NOT_AVAILABLE
    samples = case.metric("time/samples")
    spread = fmt("time/rel_iqr", format_percent)
    if samples is not None and samples < 2:
        spread = DASH  # one sample has no spread
    return {
        "time": missing if median is None else format_time(median, sig),
        "iqr": spread,
        "ratio": paired_ratio_cell(case) or missing,
        "tflops": fmt("throughput/tflops", format_tflops),
        "memory": memory,
        "error": fmt("error/max_abs", format_error),
        "energy": energy,
    }


def paired_ratio_cell(case: CaseResult) -> str | None:
    """``1.23× (1.18–1.29)``: the stored paired ratio to the group's baseline and its 95%
    interval (``baseline`` on the baseline's own row); None when the case has none."""
    ratio = case.metric("ratio/to_baseline")
    if ratio is None:
        return None
    if case.baseline == case.case_id:
        return "baseline"
    low, high = case.metric("ratio/ci_low"), case.metric("ratio/ci_high")
    if low is None or high is None:
        return f"{format_ratio(ratio)} (no CI)"
    return f"{format_ratio(ratio)} ({format_sig(low, 3)}–{format_sig(high, 3)})"


def reason_line(case: CaseResult) -> str:
    """``status: first line of the reason`` for a case that did not run ok."""
    return reason_text(case).splitlines()[0]


def reason_text(case: CaseResult) -> str:
    """``status: the whole reason`` (every line) for a case that did not run ok."""
    text = case.reason.strip()
    return f"{case.status}: {text if text else 'no reason recorded'}"


def case_cells(case: CaseResult, shape: str, ref: int | None = None) -> dict[str, str]:
    """Every column of :data:`COLUMNS` for ``case``, formatted.

    ``ref`` is the number of the reason footnote of a case that did not run ok; the notes
    cell then starts with ``[ref]``, followed by the warning codes (space separated).
    """
    ok = case.status == STATUS_OK
    cells = {"variant": case.variant, "shape": shape, "status": case.status}
    cells.update(_metric_cells(case, DASH if ok else ""))
    cells["backend"] = case.backend or (DASH if ok else "")
    marks = [f"[{ref}]"] if ref is not None else []
    cells["notes"] = " ".join([*marks, *dict.fromkeys(case.warnings)])
    return cells


@dataclass(frozen=True)
class Report:
    """A run laid out for reporting: rows in order, the shape plan, reason footnotes.

    ``reasons[i]`` is footnote ``[i + 1]``, the whole reason (it may span lines); cases with
    the same status and reason share one.
    """

    rows: list[Row]
    plan: ShapePlan
    reasons: list[str]


def build_report(run: RunResult) -> Report:
    """Order, format and cross-reference every case of ``run``."""
    plan = plan_shapes(run.cases)
    refs: dict[str, int] = {}
    rows: list[Row] = []
    previous = None
    for case in ordered_cases(run.cases):
        ref = None
        if case.status != STATUS_OK:
            ref = refs.setdefault(reason_text(case), len(refs) + 1)
        cells = case_cells(case, plan.shape(case), ref)
        rows.append(Row(case, cells, case.variant != previous))
        previous = case.variant
    return Report(rows, plan, list(refs))


def columns_present(rows: Sequence[Row], columns: Collection[Column] = COLUMNS) -> list[Column]:
    """The columns that have at least one non-empty cell (variant and shape always)."""
    keep = []
    for col in columns:
        if col.key in ("variant", "shape", "status") or any(
            r.cells[col.key] not in ("", DASH) for r in rows
        ):
            keep.append(col)
    return keep
