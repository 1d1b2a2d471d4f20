"""GitHub-flavoured Markdown for a stored run, ready to paste into a pull-request comment.

The table has the console table's columns (plus the variant on every row, since Markdown
has no sections); reasons and warning meanings follow as lists.
"""

from __future__ import annotations

from tabulate import tabulate

from attnbench.report.baseline import Baseline, ratio_rows
from attnbench.report.captions import (
    WARNING_TEXT,
    energy_gaps,
    header_lines,
    legend,
    warnings_seen,
)
from attnbench.report.format import DASH, format_ratio, format_time
from attnbench.report.rows import (
    Column,
    Report,
    build_report,
    columns_present,
    ordered_cases,
    plan_shapes,
)
from attnbench.results.schema import RunResult

__all__ = ["ratio_markdown", "to_markdown"]

_REASON_WIDTH = 300
"""Longest reason kept in a footnote; the JSON has the full text."""


def escape(text: str) -> str:
    """Make ``text`` safe in GitHub Markdown: pipes, backslashes, tildes, newlines."""
    for char in ("\\", "|", "~"):
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _table(report: Report) -> str:
    columns: list[Column] = columns_present(report.rows)
    rows = []
    for row in report.rows:
        cells = []
        for col in columns:
            value = escape(row.cells[col.key])
            cells.append(_code(value) if col.key in ("variant", "backend") else value)
        rows.append(cells)
    return tabulate(
        rows,
        headers=[escape(c.header) for c in columns],
        tablefmt="github",
        colalign=["right" if c.numeric else "left" for c in columns],
        disable_numparse=True,
    )


def _reasons(report: Report) -> list[str]:
    out = []
    for i, reason in enumerate(report.reasons, 1):
        text = reason if len(reason) <= _REASON_WIDTH else reason[: _REASON_WIDTH - 1] + "…"
        out.append(f"{i}. {escape(text)}")
    return out


def _notes(run: RunResult) -> list[str]:
    out = []
    for code, count in warnings_seen(run.cases).items():
        meaning = WARNING_TEXT.get(code, "see the result JSON")
        out.append(f"- `{code}`: {escape(meaning)} ({count} case{'' if count == 1 else 's'})")
    out += [f"- energy n/a: {escape(r)}" for r in energy_gaps(run.cases)]
    return out


def to_markdown(run: RunResult) -> str:
    """The run as Markdown: a bold title, provenance lines, the table and its footnotes.

    Reasons of cases that did not run are a numbered list matching the ``[n]`` marks in the
    notes column; warning codes seen and energy gaps follow under **Notes**.
    """
    report = build_report(run)
    lines = header_lines(run, report.plan)
    parts = [f"**{escape(lines[0])}**", ""]
    parts += [
        escape(line) + ("  " if i + 1 < len(lines) else "") for i, line in enumerate(lines[1:], 1)
    ]
    parts += ["", _table(report), "", f"<sub>{escape(legend())}</sub>"]
    reasons = _reasons(report)
    if reasons:
        parts += ["", "**Reasons**", "", *reasons]
    notes = _notes(run)
    if notes:
        parts += ["", "**Notes**", "", *notes]
    return "\n".join(parts) + "\n"


def ratio_markdown(run: RunResult, baseline: Baseline) -> str:
    """The ratio-to-baseline table (``show -f markdown --ratio-to``) as Markdown."""
    plan = plan_shapes(ordered_cases(run.cases))
    rows = []
    for row in ratio_rows(run, baseline):
        ref = row.baseline_ms
        rows.append([
            _code(escape(row.case.variant)),
            escape(plan.shape(row.case)),
            format_time(row.median_ms),
            DASH if ref is None else format_time(ref),
            DASH if row.ratio is None else format_ratio(row.ratio),
        ])
    label = escape(baseline.label)
    parts = [f"**Median time relative to `{label}`**", ""]
    if not any(baseline.matches(c) and c.status == "ok" for c in run.cases):
        parts += [f"No ok `{label}` case in this run.", ""]
    parts.append(tabulate(
        rows,
        headers=["variant", "shape", "median", label, "× baseline"],
        tablefmt="github",
        colalign=["left", "left", "right", "right", "right"],
        disable_numparse=True,
    ))
    return "\n".join(parts) + "\n"
