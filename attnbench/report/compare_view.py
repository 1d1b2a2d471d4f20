"""``compare`` laid out for reporting: columns per run, formatted cells, the mean lines.

Shared by the rich table, Markdown and CSV. Per run: median time, TFLOP/s, % of peak,
peak memory and energy (each only when some case has it), and from the second run on the
ratio to the first run with its 95% interval. ``†`` marks a ratio whose fingerprints differ
(the variant's code changed between the runs).
"""

from __future__ import annotations

from dataclasses import dataclass

from attnbench.compare.runs import Cell, Comparison, Mean, Row
from attnbench.report.format import (
    DASH,
    format_bytes,
    format_energy,
    format_percent,
    format_tflops,
    format_time,
)
from attnbench.report.rows import plan_shapes
from attnbench.report.verdicts import interval_text, ratio_text


@dataclass(frozen=True)
class ViewColumn:
    """A column: which run, which quantity (``median``, ``ratio``...), header, numeric."""

    run: int
    key: str
    header: str
    numeric: bool = True


_QUANTITIES = (
    ("median", "median"),
    ("ratio", "× first"),
    ("tflops", "TFLOP/s"),
    ("pct_peak", "% peak"),
    ("peak_bytes", "peak mem"),
    ("joules", "J/call"),
)
DROP_ORDER = ("joules", "peak_bytes", "pct_peak", "tflops")
"""Quantities given up, in this order, when the table is too wide."""


def _cell_text(cell: Cell | None, key: str) -> str:
    if cell is None:
        return "absent" if key == "median" else ""
    ok = cell.case.status == "ok"
    if key == "median":
        v = cell.value("median_ms")
        return format_time(v) if v is not None else (DASH if ok else cell.case.status)
    if key == "ratio":
        if cell.ratio is None:
            return ""
        mark = "†" if cell.code_changed else ""
        return f"{ratio_text(cell.ratio)} {interval_text(cell.ratio)}".strip() + mark
    formatter = {"tflops": format_tflops, "peak_bytes": format_bytes, "joules": format_energy}
    v = cell.value(key)
    if v is None:
        return ""
    if key == "pct_peak":
        return format_percent(v / 100)
    return formatter[key](v)


def columns(comp: Comparison, drop: tuple[str, ...] = ()) -> list[ViewColumn]:
    """The run columns with a value somewhere, minus the quantities in ``drop``."""
    out = []
    for k, run in enumerate(comp.runs):
        for key, header in _QUANTITIES:
            if key in drop or (key == "ratio" and k == 0):
                continue
            if key not in ("median", "ratio") and not any(
                c is not None and c.value(key) is not None for r in comp.rows for c in [r.cells[k]]
            ):
                continue
            out.append(ViewColumn(k, key, f"{run.label} {header}"))
    return out


def shape_texts(comp: Comparison) -> dict[str, str]:
    """Case id → compact shape (parameters that vary), as in ``show``."""
    cases = [next(c.case for c in r.cells if c is not None) for r in comp.rows]
    plan = plan_shapes(cases)
    return {c.case_id: plan.shape(c) for c in cases}


def row_texts(row: Row, cols: list[ViewColumn]) -> list[str]:
    return [_cell_text(row.cells[c.run], c.key) for c in cols]


def mean_line(comp: Comparison, m: Mean) -> str:
    e = m.estimate
    return (
        f"geomean {m.variant}, {comp.runs[m.run].label} / {comp.runs[0].label}: "
        f"{ratio_text(e)} {interval_text(e)} over {m.count} shared case"
        f"{'' if m.count == 1 else 's'}"
    )


def header_lines(comp: Comparison) -> list[str]:
    lines = [f"compare {len(comp.runs)} runs (ratios to {comp.runs[0].label})"]
    for run in comp.runs:
        commit = f" · git {run.commit[:10]}" if run.commit else ""
        lines.append(f"{run.label}: {run.path} · {run.device}{commit}")
    return lines


def partial_lines(comp: Comparison) -> list[str]:
    """One line per case not ok in every run: where it is missing or did not run."""
    out = []
    for row in comp.partial():
        where = []
        for run, cell in zip(comp.runs, row.cells, strict=True):
            if cell is None:
                where.append(f"absent in {run.label}")
            elif cell.case.status != "ok":
                where.append(f"{cell.case.status} in {run.label}")
        out.append(f"{row.case_id}: {', '.join(where)}")
    return out
