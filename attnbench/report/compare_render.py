"""``compare`` as a rich table, GitHub Markdown and CSV (built on :mod:`compare_view`)."""

from __future__ import annotations

import csv
import io

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from tabulate import tabulate

from attnbench.compare.runs import CELL_METRICS, METHOD, Comparison
from attnbench.report.compare_view import (
    DROP_ORDER,
    ViewColumn,
    columns,
    header_lines,
    mean_line,
    partial_lines,
    row_texts,
    shape_texts,
)
from attnbench.report.markdown import escape

_PARTIAL_SHOWN = 200


def _table(comp: Comparison, cols: list[ViewColumn]) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
        collapse_padding=True,
    )
    table.add_column("case", no_wrap=True)
    for col in cols:
        table.add_column(col.header.replace(" ", "\n", 1), justify="right", no_wrap=True)
    shapes = shape_texts(comp)
    previous = None
    for i, row in enumerate(comp.rows):
        if row.variant != previous:
            table.add_row(Text(row.variant, style="bold cyan"))
        last = i + 1 == len(comp.rows) or comp.rows[i + 1].variant != row.variant
        table.add_row(" " + shapes[row.case_id], *row_texts(row, cols), end_section=last)
        previous = row.variant
    return table


def compare_table(comp: Comparison, console: Console | None = None) -> Table:
    """The side-by-side table; with ``console``, optional quantities drop until it fits."""
    drop: tuple[str, ...] = ()
    table = _table(comp, columns(comp))
    if console is None:
        return table
    wide = console.options.update_width(1 << 16)
    for key in DROP_ORDER:
        if console.measure(table, options=wide).maximum <= console.width:
            break
        drop += (key,)
        table = _table(comp, columns(comp, drop))
    return table


def render_compare(comp: Comparison, console: Console) -> None:
    """Header lines, the table, geometric means, partial cases, the method."""
    lines = header_lines(comp)
    console.print(Text(lines[0], style="bold"), soft_wrap=False)
    for line in lines[1:]:
        console.print(Text(line), soft_wrap=False)
    console.print()
    console.print(compare_table(comp, console))
    console.print()
    for m in comp.means:
        console.print(Text(mean_line(comp, m)), soft_wrap=False)
    partial = partial_lines(comp)
    if partial:
        console.print(
            Text(f"{len(partial)} case(s) not ok in every run (in no mean):", style="yellow")
        )
        for line in partial[:_PARTIAL_SHOWN]:
            console.print(Text("  " + line, style="dim"), no_wrap=True, overflow="ellipsis")
    if any(c is not None and c.code_changed for r in comp.rows for c in r.cells):
        console.print(
            Text("†: fingerprints differ (the variant's code or case changed)", style="dim")
        )
    console.print(Text(METHOD, style="dim"), soft_wrap=False)


def compare_markdown(comp: Comparison) -> str:
    """Header, one table (variant on every row), means, partial cases and the method."""
    cols = columns(comp)
    shapes = shape_texts(comp)
    rows = [
        [f"`{r.variant}`", escape(shapes[r.case_id]), *(escape(t) for t in row_texts(r, cols))]
        for r in comp.rows
    ]
    table = tabulate(
        rows,
        headers=["variant", "shape", *(escape(c.header) for c in cols)],
        tablefmt="github",
        disable_numparse=True,
        colalign=["left", "left", *(["right"] * len(cols))],
    )
    lines = header_lines(comp)
    parts = [f"**{escape(lines[0])}**", "", *(escape(x) + "  " for x in lines[1:]), "", table, ""]
    parts += [f"- {escape(mean_line(comp, m))}" for m in comp.means]
    partial = partial_lines(comp)
    if partial:
        parts += ["", f"**Not ok in every run ({len(partial)}, in no mean)**", ""]
        parts += [f"- {escape(x)}" for x in partial[:_PARTIAL_SHOWN]]
    parts += ["", f"<sub>{escape(METHOD)}; † fingerprints differ</sub>", ""]
    return "\n".join(parts)


def compare_csv(comp: Comparison) -> str:
    """Long format: one row per case and run, raw numbers, ratio columns to the first run."""
    fields = [
        "case_id",
        "variant",
        "run",
        "path",
        "status",
        *CELL_METRICS,
        "ratio",
        "ci_low",
        "ci_high",
        "code_changed",
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n", restval="")
    writer.writeheader()
    for row in comp.rows:
        for run, cell in zip(comp.runs, row.cells, strict=True):
            if cell is None:
                continue
            record: dict[str, object] = {
                "case_id": row.case_id,
                "variant": row.variant,
                "run": run.label,
                "path": run.path,
                "status": cell.case.status,
            }
            for key in CELL_METRICS:
                v = cell.value(key)
                record[key] = "" if v is None else v
            if cell.ratio is not None:
                record.update(
                    ratio=cell.ratio.ratio, ci_low=cell.ratio.ci_low, ci_high=cell.ratio.ci_high
                )
            record["code_changed"] = "true" if cell.code_changed else "false"
            writer.writerow(record)
    return buffer.getvalue()
