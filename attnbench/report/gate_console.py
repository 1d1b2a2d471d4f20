"""The gate's verdict as text lines and a rich table (summary line first).

:func:`summary_lines` is shared with the Markdown rendering, so the terminal, the step
summary and the pull-request comment say the same thing in the same order.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from attnbench.compare.gate import GateResult
from attnbench.compare.stats import ALPHA, RESAMPLES, SEED
from attnbench.compare.verdict import MARKS, NOT_JUDGED, VERDICTS, CaseVerdict
from attnbench.metrics.catalog import metric as catalog_metric
from attnbench.report.rows import plan_shapes
from attnbench.report.verdicts import (
    format_value,
    interval_text,
    note_text,
    p_text,
    ratio_text,
    threshold_text,
)
from attnbench.results.schema import CaseResult

STATUS_WORD = {0: "PASS", 1: "FAIL", 3: "NOT COMPARABLE"}
VERDICT_STYLE = {
    "failed": "bold red",
    "slower": "red",
    "ambiguous": "yellow",
    "missing": "yellow",
    "incomparable": "magenta",
    "new": "cyan",
    "faster": "green",
    "same": "dim",
}
METHOD = (
    f"ratio = current / baseline of the metric; 95% CI: percentile bootstrap of the ratio of "
    f"medians ({RESAMPLES} resamples, seed {SEED}) widened by the run-to-run noise; p: "
    "two-sided Mann–Whitney on the raw samples; Holm p: the larger of p and the p against "
    f"run-to-run noise, adjusted across every tested case, slower/faster need Holm p <= {ALPHA}; "
    "MDE: smallest change detectable at 80% power"
)


def legend() -> str:
    """``marks: ! failed  + slower ...``."""
    return "marks: " + "  ".join(f"{MARKS[v]} {v}" for v in VERDICTS)


def counts_text(result: GateResult) -> str:
    """``2 slower, 1 failed, 40 same`` (non-zero verdicts, most serious first)."""
    counts = result.counts()
    shown = [f"{counts[v]} {v}" for v in VERDICTS if counts[v]]
    if not counts["slower"]:
        shown.insert(0, "0 slower")
    extra = [f"{counts[v]} {v.replace('_', ' ')}" for v in NOT_JUDGED if counts[v]]
    return ", ".join(shown) + (f" ({', '.join(extra)})" if extra else "")


def summary_lines(result: GateResult) -> list[str]:
    """Summary, settings, drift, notes and per-variant means, one line each."""
    word = STATUS_WORD.get(result.exit_code, "ERROR")
    d = result.defaults
    direction = catalog_metric(d.metric).direction
    tested = sum(1 for c in result.cases if c.evidence is not None and c.evidence.tested)
    lines = [
        f"gate {word} (exit {result.exit_code}): {counts_text(result)}",
        f"{result.baseline} → {result.current}",
        f"metric {d.metric} ({direction} is better) · max regression "
        f"{threshold_text(d.max_regression)} · floor {d.floor_ms:g} ms · Holm over {tested} "
        f"tested case{'' if tested == 1 else 's'} at α = {ALPHA}"
        + (" · strict" if result.strict else ""),
        result.drift.note,
        *([result.noise.note] if result.noise.note else []),
        *result.notes,
    ]
    for m in result.means:
        e = m.estimate
        lines.append(
            f"geomean {m.variant}: {ratio_text(e)} {interval_text(e)} over {m.count} "
            f"case{'' if m.count == 1 else 's'}"
        )
    return lines


def row_cells(c: CaseVerdict) -> list[str]:
    """mark, verdict, case id, baseline, current, ratio, interval, p, Holm p, note."""
    ev = c.evidence
    key = c.settings.metric
    return [
        MARKS[c.verdict],
        c.verdict,
        c.case_id,
        format_value(key, ev.baseline) if ev else "",
        format_value(key, ev.current) if ev else "",
        ratio_text(c.estimate) if ev else "",
        interval_text(c.estimate),
        p_text(ev.p) if ev else "",
        p_text(c.p_adjusted),
        note_text(c),
    ]


HEADERS = ("", "verdict", "case", "baseline", "current", "ratio", "95% CI", "p", "Holm p", "note")
NUMERIC = {3, 4, 5, 6, 7, 8}
_CONSOLE = (0, 2, 3, 4, 5, 6, 8, 9)
"""Console columns: the mark carries the verdict (its word joins it), raw p stays in the JSON."""


def fixed_text(result: GateResult) -> str:
    """``fixed: b1 h2 d8 fp32 fwd``: shape parameters shared by every case."""
    plan = plan_shapes(_cases(result))
    return f"fixed: {plan.fixed}" if plan.fixed else ""


def _cases(result: GateResult) -> list[CaseResult]:
    return [CaseResult(c.case_id, c.variant, dict(c.params), "ok") for c in result.cases]


def gate_table(result: GateResult) -> Table:
    """Every compared case, most serious verdict first, one mark per verdict.

    The case column shows the variant and what varies of its shape (the rest is in the
    ``fixed`` line above the table); the case id is in every other format.
    """
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
        collapse_padding=True,
    )
    for i in _CONSOLE:
        header = "verdict" if i == 0 else HEADERS[i]
        if header == "note":
            table.add_column(header, overflow="fold", ratio=1, min_width=12)
        else:
            table.add_column(header, justify="right" if i in NUMERIC else "left", no_wrap=True)
    plan = plan_shapes(_cases(result))
    for c in result.by_severity():
        if c.verdict in NOT_JUDGED:
            continue
        cells = row_cells(c)
        cells[0] = f"{cells[0]} {cells[1]}"
        cells[2] = (
            f"{c.variant} {plan.shape(CaseResult(c.case_id, c.variant, dict(c.params), 'ok'))}"
        )
        style = VERDICT_STYLE.get(c.verdict, "")
        table.add_row(*(Text(cells[i], style=style) if i == 0 else cells[i] for i in _CONSOLE))
    return table


def render_gate(result: GateResult, console: Console) -> None:
    """Print the summary lines, the table and the legend."""
    lines = summary_lines(result)
    style = (
        "bold red" if result.exit_code == 1 else "bold green" if result.exit_code == 0 else "bold"
    )
    console.print(Text(lines[0], style=style), soft_wrap=False)
    for line in lines[1:]:
        console.print(Text(line), soft_wrap=False)
    fixed = fixed_text(result)
    if fixed:
        console.print(Text(fixed), soft_wrap=False)
    console.print()
    console.print(gate_table(result))
    console.print()
    for line in (legend(), METHOD):
        console.print(Text(line, style="dim"), soft_wrap=False)
