"""rich tables for a stored run: the results table, a ratio-to-baseline table, footnotes.

Builders return renderables; :func:`render_run` is the one place that prints. Each variant
opens its own section with a title row; numbers are right-aligned and never wrap. Why a case
did not run is a numbered footnote under the table, so long torch messages never squeeze the
numbers: on a terminal each footnote is one line cut to the width (the JSON and ``show`` piped
have the rest); when the output is not a terminal (a pipe, a file, CI logs) every footnote
is printed whole.

Every string that comes from a user, a suite, a plugin or torch is rendered as plain text,
never as rich markup, so ``[enforce fail at alloc_cpu.cpp:127]`` prints as written.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from attnbench.report.baseline import Baseline, ratio_rows
from attnbench.report.captions import (
    WARNING_TEXT,
    energy_gaps,
    header_lines,
    legend,
    partial_lines,
    warning_lines,
)
from attnbench.report.format import DASH, format_ratio, format_sig, format_time
from attnbench.report.rows import (
    STATUS_STYLE,
    Column,
    Report,
    Row,
    build_report,
    columns_present,
    ordered_cases,
    plan_shapes,
)
from attnbench.results.schema import STATUS_OK, CaseResult, RunResult

__all__ = ["WARNING_TEXT", "ratio_table", "render_run", "results_table", "stored_baseline"]

_INDENT = " "
_DROP_ORDER = ("backend", "energy", "error", "iqr", "memory", "tflops", "ratio", "notes")
"""Columns given up, in this order, when the table is wider than the console."""


def _new_table() -> Table:
    return Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
        collapse_padding=True,
    )


def _add_columns(table: Table, columns: list[Column]) -> None:
    for col in columns:
        header = "case" if col.key == "shape" else col.header
        if col.key == "notes":  # the one column rich may narrow: it wraps between codes
            table.add_column(header, overflow="fold")
        else:
            table.add_column(header, justify="right" if col.numeric else "left", no_wrap=True)


def _cells(row: Row, columns: list[Column]) -> list[Text]:
    out: list[Text] = []
    for col in columns:
        value = row.cells[col.key]
        if col.key == "shape":
            out.append(Text(_INDENT + value))
        elif col.key == "status":
            out.append(Text(value, style=STATUS_STYLE.get(value, "")))
        elif col.key == "notes":
            out.append(Text(value, style="yellow" if row.case.status == STATUS_OK else "dim"))
        else:
            out.append(Text(value))
    return out


def _results_table(report: Report, columns: list[Column]) -> Table:
    table = _new_table()
    _add_columns(table, columns)
    for i, row in enumerate(report.rows):
        if row.first_of_variant:
            table.add_row(Text(row.case.variant, style="bold cyan"))
        last = i + 1 == len(report.rows) or report.rows[i + 1].first_of_variant
        table.add_row(*_cells(row, columns), end_section=last)
    return table


def _fit(report: Report, console: Console | None) -> tuple[list[Column], list[Column]]:
    """Columns to show and columns dropped so the table fits ``console`` without wrapping."""
    columns = [c for c in columns_present(report.rows) if c.key != "variant"]
    dropped: list[Column] = []
    if console is None:
        return columns, dropped
    unbounded = console.options.update_width(1 << 16)
    for key in _DROP_ORDER:
        natural = console.measure(_results_table(report, columns), options=unbounded).maximum
        if natural <= console.width:
            break
        dropped += [c for c in columns if c.key == key]
        columns = [c for c in columns if c.key != key]
    return columns, dropped


def results_table(run: RunResult, console: Console | None = None) -> Table:
    """One row per case under a title row per variant, in report order.

    Columns: compact shape, status, median time, ± relative IQR, TFLOP/s, peak memory
    (``~`` marks the analytic estimate where nothing was measured), max abs error, backend,
    energy per call (``n/a`` when not measured) and notes: warning codes, and ``[n]`` pointing
    to the reason of a case that did not run. Columns with no value in any row are left out.

    Args:
        run: the run to show.
        console: when given, the least important columns are dropped until the table fits
            its width (backend first, then energy, error, IQR, memory, TFLOP/s, notes).
    """
    report = build_report(run)
    return _results_table(report, _fit(report, console)[0])


def render_run(run: RunResult, console: Console, source: str | None = None) -> None:
    """Print header lines, the results table, the legend, reasons and warning meanings.

    ``source`` is the result file's path as the user named it; for a partial run the notes
    then end with the command that runs the rest into it.
    """
    report = build_report(run)
    lines = header_lines(run, report.plan)
    console.print(Text(lines[0], style="bold"), soft_wrap=False)
    for line in lines[1:]:
        console.print(Text(line), soft_wrap=False)
    columns, dropped = _fit(report, console)
    console.print()
    console.print(_results_table(report, columns))
    console.print()
    _print_notes(console, [legend()])
    if dropped:
        hidden = ", ".join(c.header for c in dropped)
        _print_notes(console, [f"hidden to fit {console.width} columns: {hidden}"])
    _print_notes(console, footnotes(report.reasons, whole=not console.is_terminal))
    _print_notes(console, warning_lines(run.cases))
    _print_notes(console, [f"energy n/a: {r}" for r in energy_gaps(run.cases)])
    if source is not None:
        _print_notes(console, partial_lines(run, source))


def footnotes(reasons: list[str], whole: bool) -> list[str]:
    """``[n] reason`` lines: the first line of each reason, or (``whole``) every line.

    Continuation lines of a whole reason are indented under the text of its first line.
    """
    out = []
    for i, reason in enumerate(reasons, 1):
        mark = f"[{i}] "
        lines = reason.splitlines() or [""]
        out.append(mark + lines[0])
        if whole:
            out += [" " * len(mark) + line for line in lines[1:]]
    return out


def stored_baseline(run: RunResult) -> str | None:
    """The variant the run's paired ratios are relative to (None: no paired ratios)."""
    by_id = {c.case_id: c.variant for c in run.cases}
    for case in run.cases:
        if case.baseline and case.metric("ratio/to_baseline") is not None:
            return by_id.get(case.baseline, case.baseline.split("/", 1)[0])
    return None


def _paired(case: CaseResult, baseline: Baseline, by_id: dict[str, CaseResult]) -> bool:
    """True when ``case`` carries a paired ratio measured against this very baseline."""
    base = by_id.get(case.baseline)
    return (
        base is not None and baseline.matches(base) and case.metric("ratio/to_baseline") is not None
    )


def _print_notes(console: Console, lines: list[str]) -> None:
    """Plain-text lines. On a terminal each is cut to the width with an ellipsis; otherwise
    each is printed whole (long lines continue on the next line, nothing is lost)."""
    for line in lines:
        if console.is_terminal:
            console.print(Text(line, style="dim"), no_wrap=True, overflow="ellipsis", crop=True)
        else:
            console.print(Text(line, style="dim"), soft_wrap=True)


def ratio_table(run: RunResult, baseline_variant: str | Baseline | None = None) -> Table:
    """Each ok case's time as a multiple of the baseline's at the same shape.

    ``baseline_variant`` is a full variant name or a :class:`Baseline` from
    :func:`~attnbench.report.baseline.resolve_baseline` (family names and pinned parameters);
    None uses the run's stored baseline, else ``softmax.sdpa``. Where the case was measured
    in a comparison group with that baseline, the ratio is the stored paired one (median of
    per-round ratios, with its 95% interval, basis ``paired n=…``). Otherwise it falls back to
    the ratio of the two separately taken medians, with no interval, and says so (basis
    ``unpaired``). ``2.00×`` means twice the baseline's time (slower), ``0.500×`` half
    (faster). Shapes where the baseline did not run ok show ``–``; the baseline's own rows
    are left out.
    """
    if isinstance(baseline_variant, Baseline):
        baseline = baseline_variant
    else:
        baseline = Baseline(baseline_variant or stored_baseline(run) or "softmax.sdpa")
    rows = ratio_rows(run, baseline)
    by_id = {c.case_id: c for c in run.cases}
    plan = plan_shapes(ordered_cases(run.cases))
    table = _new_table()
    table.title = Text(f"median time relative to {baseline.label}")
    for header, right in (
        ("variant", False),
        ("shape", False),
        ("median", True),
        (baseline.label, True),
        ("× baseline", True),
        ("95% interval", True),
        ("basis", False),
    ):
        table.add_column(Text(header), justify="right" if right else "left", no_wrap=True)
    previous = None
    bases: list[str] = []
    for row in rows:
        case = row.case
        if _paired(case, baseline, by_id):
            cells = _paired_cells(case, by_id[case.baseline])
        else:
            cells = _unpaired_cells(row.median_ms, row.baseline_ms)
        bases.append(cells[-1].split(" ")[0])
        shown = case.variant if case.variant != previous else ""
        table.add_row(Text(shown), Text(plan.shape(case)), format_time(row.median_ms), *cells)
        previous = case.variant
    any_base = any(baseline.matches(c) and c.status == STATUS_OK for c in run.cases)
    table.caption = _ratio_caption(baseline.label, any_base, bases.count("paired"),
                                   bases.count("unpaired"))
    return table


def _paired_cells(case: CaseResult, base: CaseResult) -> list[str]:
    """Baseline median, stored paired ratio, its interval, ``paired n=…``."""
    ref = base.metric("time/median_ms")
    low, high = case.metric("ratio/ci_low"), case.metric("ratio/ci_high")
    interval = DASH if low is None or high is None else f"{format_sig(low)}–{format_sig(high)}"
    return [
        DASH if ref is None else format_time(ref),
        format_ratio(case.metrics["ratio/to_baseline"]),
        interval,
        f"paired n={int(case.metrics.get('ratio/pairs', 0))}",
    ]


def _unpaired_cells(median: float, ref: float | None) -> list[str]:
    """Baseline median, the ratio of medians, no interval, ``unpaired``."""
    if ref is None:
        return [DASH, DASH, DASH, ""]
    return [format_time(ref), format_ratio(median / ref), DASH, "unpaired"]


def _ratio_caption(baseline: str, any_base: bool, paired: int, unpaired: int) -> str:
    lines = []
    if not any_base:
        lines.append(f"no ok {baseline} case in this run")
    if paired:
        lines.append("paired: median of per-round ratios, distribution-free 95% interval")
    if unpaired:
        lines.append(f"unpaired: ratio of medians timed apart, NO interval ({unpaired} rows)")
    return "\n".join(lines)
