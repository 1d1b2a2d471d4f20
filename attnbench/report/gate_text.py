"""The gate's verdict as GitHub Markdown (a PR comment or step summary) and as CSV.

Markdown: the summary first, regressions in view, every case in a collapsed
``<details>`` block, and never more than :data:`MAX_MARKDOWN_CHARS` characters whatever the
size of the suite (GitHub refuses comments over 65,536): rows that do not fit are counted and
the JSON output named for the rest.
"""

from __future__ import annotations

import csv
import io

from tabulate import tabulate

from attnbench.compare.gate import GateResult
from attnbench.compare.verdict import NOT_JUDGED, CaseVerdict
from attnbench.report.gate_console import HEADERS, METHOD, NUMERIC, legend, row_cells, summary_lines
from attnbench.report.markdown import escape

MAX_MARKDOWN_CHARS = 65_000
"""Hard ceiling on the Markdown's length (GitHub's limit is 65,536)."""
_REGRESSIONS_SHOWN = 50
_NOTE_WIDTH = 160


def _md_row(c: CaseVerdict) -> list[str]:
    cells = row_cells(c)
    cells[0] = f"`{cells[0]}`" if cells[0].strip() else ""
    cells[2] = f"`{cells[2]}`"
    note = cells[-1]
    cells[-1] = note if len(note) <= _NOTE_WIDTH else note[: _NOTE_WIDTH - 1] + "…"
    return [escape(x) if i not in (0, 2) else x for i, x in enumerate(cells)]


def _md_table(rows: list[list[str]]) -> str:
    return tabulate(
        rows,
        headers=list(HEADERS),
        tablefmt="github",
        disable_numparse=True,
        colalign=["right" if i in NUMERIC else "left" for i in range(len(HEADERS))],
    )


def _fitting(cases: list[CaseVerdict], budget: int) -> tuple[str, int]:
    """The longest prefix of ``cases`` whose table fits ``budget`` characters, and its size."""
    rows = [_md_row(c) for c in cases]
    header = len(_md_table([])) + 1
    used, count = header, 0
    for row in rows:
        size = len(_md_table([row])) - header + 2  # one row's line and its newline
        if used + size > budget:
            break
        used += size
        count += 1
    return (_md_table(rows[:count]) if count else ""), count


def gate_markdown(
    result: GateResult, command_hint: str = "attnbench gate ... --format json"
) -> str:
    """The verdict as Markdown, at most :data:`MAX_MARKDOWN_CHARS` characters."""
    slack = 400
    while True:
        text = _markdown(result, command_hint, slack)
        if len(text) <= MAX_MARKDOWN_CHARS or slack > MAX_MARKDOWN_CHARS:
            return text[:MAX_MARKDOWN_CHARS]
        slack += len(text) - MAX_MARKDOWN_CHARS + 400


def _markdown(result: GateResult, command_hint: str, slack: int) -> str:
    lines = summary_lines(result)
    head = [f"### attnbench {escape(lines[0])}", ""]
    head += [escape(line) + "  " for line in lines[1:]]
    tail = ["", f"<sub>{escape(legend())} · {escape(METHOD)}</sub>", ""]
    judged = [c for c in result.by_severity() if c.verdict not in NOT_JUDGED]
    regressions = result.regressions()
    parts = list(head)
    budget = MAX_MARKDOWN_CHARS - len("\n".join(head + tail)) - slack
    if regressions:
        table, shown = _fitting(regressions[:_REGRESSIONS_SHOWN], budget // 2)
        parts += ["", f"**Regressions ({len(regressions)})**", "", table]
        if shown < len(regressions):
            parts.append(f"\n… {len(regressions) - shown} more regressions in the details.")
        budget -= len(table)
    table, shown = _fitting(judged, budget)
    parts += ["", f"<details><summary>All {len(judged)} compared cases</summary>", "", table]
    if shown < len(judged):
        parts += [
            "",
            f"… {len(judged) - shown} more cases not shown here; the full verdict: "
            f"`{command_hint}`",
        ]
    parts += ["", "</details>", *tail]
    return "\n".join(parts)


def gate_csv(result: GateResult) -> str:
    """One row per case id: the JSON verdict's fields, flat (numbers raw, empty = none)."""
    rows = [c.to_dict() for c in result.cases]
    fields = list(rows[0]) if rows else ["case_id"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        samples = row.get("samples")
        row["samples"] = "" if samples is None else f"{samples[0]};{samples[1]}"
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()
