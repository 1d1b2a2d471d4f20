"""Console tables: golden text at pinned widths, ordering, shapes, footnotes, ratios."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console
from rich.table import Table

from attnbench.report.captions import header_lines
from attnbench.report.console import WARNING_TEXT, ratio_table, render_run, results_table
from attnbench.report.rows import build_report, plan_shapes
from attnbench.results.schema import RunResult
from tests.report.conftest import check_golden, ok_case, plain_console


def render(run: RunResult, width: int = 120) -> str:
    console = plain_console(width)
    render_run(run, console)
    return console.export_text()


def test_render_run_golden(run_result: RunResult) -> None:
    check_golden("run_120.txt", render(run_result))


def test_render_run_narrow_console_drops_columns_golden(run_result: RunResult) -> None:
    text = render(run_result, width=80)
    check_golden("run_80.txt", text)
    assert "hidden to fit 80 columns: backend, J/call" in text
    table = text.split("median: device time")[0]
    assert max(len(line) for line in table.splitlines()) <= 80
    # not a terminal: footnotes are whole, however narrow the console
    assert "use cog.naive for causal cases" in text
    assert "    CUDA kernel errors might be asynchronously reported at some other API call" in text


def test_footnotes_on_a_terminal_are_one_line_cut_to_the_width(run_result: RunResult) -> None:
    console = Console(width=80, record=True, color_system=None, force_terminal=True,
                      highlight=False, file=io.StringIO())
    render_run(run_result, console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    footnote = next(line for line in text.splitlines() if line.startswith("[1] skipped"))
    assert footnote.endswith("…") and "causal cases" not in footnote
    assert "CUDA kernel errors might" not in text  # first lines only; the JSON has the rest


def test_ratio_table_golden(run_result: RunResult) -> None:
    console = plain_console()
    console.print(ratio_table(run_result))
    check_golden("ratio_120.txt", console.export_text())


def test_rendering_is_stable_under_case_order(run_result: RunResult) -> None:
    shuffled = dataclasses.replace(run_result, cases=list(reversed(run_result.cases)))
    # variant blocks follow the order the run met them; within a block the order is fixed
    first = [r.case.case_id for r in build_report(run_result).rows]
    again = [r.case.case_id for r in build_report(shuffled).rows]
    assert [i for i in first if i.startswith("softmax.sdpa")] == [
        i for i in again if i.startswith("softmax.sdpa")
    ]


def test_rows_grouped_by_variant_then_causal_then_seq_len(run_result: RunResult) -> None:
    ids = [r.case.case_id for r in build_report(run_result).rows]
    sdpa = [i.split("/")[1] for i in ids if i.startswith("softmax.sdpa/")]
    assert sdpa == [
        "b1-h16-n1024-d64-full-bf16-fwd",
        "b1-h16-n4096-d64-full-bf16-fwd",
        "b1-h16-n16384-d64-full-bf16-fwd",
        "b1-h16-n1024-d64-causal-bf16-fwd",
        "b1-h16-n4096-d64-causal-bf16-fwd",
        "b1-h16-n16384-d64-causal-bf16-fwd",
    ]
    variants = list(dict.fromkeys(i.split("/")[0] for i in ids))
    assert variants == ["softmax.sdpa", "cog.streaming", "cog.naive", "sinkhorn.log", "dipole.v2"]


def test_shapes_show_only_what_varies(run_result: RunResult) -> None:
    plan = plan_shapes(run_result.cases)
    assert plan.base_varying == ("seq_len", "causal")
    assert plan.fixed == "b1 h16 d64 bf16 fwd · dipole.v2 alpha=0.5 beta=0.5"
    shapes = {r.case.case_id: r.cells["shape"] for r in build_report(run_result).rows}
    assert shapes["sinkhorn.log/b1-h16-n1024-d64-causal-bf16-fwd-iters5"] == "n1024 causal iters=5"


def test_header_counts_and_provenance(run_result: RunResult) -> None:
    lines = header_lines(run_result)
    assert lines[0] == "variants_demo on NVIDIA H100 80GB HBM3 (cuda:0)"
    assert lines[1] == "torch 2.5.1+cu124 · attnbench 0.1.0 · git 3f9c2ab1d4 · 2025-06-01 12:34 UTC"
    assert lines[2] == "16 cases: 11 ok · 2 skipped · 1 oom · 2 failed"


def test_incomplete_run_and_dirty_tree_are_said(run_result: RunResult) -> None:
    run = dataclasses.replace(
        run_result, run={"completed": False}, git={"sha": "abc", "dirty": True}
    )
    lines = header_lines(run)
    assert "git abc+dirty" in lines[1]
    assert lines[2].endswith("· run incomplete")


def test_cells_for_each_status(run_result: RunResult) -> None:
    cells = {r.case.case_id: r.cells for r in build_report(run_result).rows}
    no_energy = cells["cog.streaming/b1-h16-n1024-d64-full-bf16-fwd"]
    assert no_energy["energy"] == "n/a"
    assert no_energy["notes"] == "ENERGY_WINDOW_TOO_SHORT"
    oom = cells["cog.naive/b1-h16-n16384-d64-full-bf16-fwd"]
    assert [oom[k] for k in ("status", "memory", "time", "energy")] == ["oom", "~32.0 GiB", "", ""]
    mismatch = cells["dipole.v2/b1-h16-n1024-d64-full-bf16-fwd-alpha0.5-beta0.5"]
    assert mismatch["error"] == "4.1e-1"
    assert mismatch["notes"] == "[4] NUMERICAL_MISMATCH"


def test_same_reason_shares_a_footnote(run_result: RunResult) -> None:
    report = build_report(run_result)
    skipped = [r.cells["notes"] for r in report.rows if r.case.status == "skipped"]
    assert skipped == ["[1]", "[1]"]
    assert report.reasons[2] == (
        "failed: RuntimeError: CUDA error: an illegal memory access was encountered\n"
        "CUDA kernel errors might be asynchronously reported at some other API call"
    )


def test_noisy_median_gets_fewer_figures() -> None:
    case = ok_case(
        "softmax.sdpa",
        {"seq_len": 1024, "causal": False},
        median_ms=1.2345,
        flops=1e9,
        peak=1.0,
        err=0.0,
        backend="x",
        joules=None,
        rel_iqr=0.3,
        samples=10,
    )
    run = RunResult(suite={"name": "s"}, environment={}, settings={}, cases=[case])
    assert build_report(run).rows[0].cells["time"] == "1.2 ms"  # not "1.23 ms"


def test_unknown_warning_code_is_listed(run_result: RunResult) -> None:
    run_result.cases[0].warnings.append("SOMETHING_NEW")
    lines = [line for line in render(run_result).splitlines() if line.startswith("SOMETHING_NEW")]
    assert len(lines) == 1
    assert lines[0].split() == ["SOMETHING_NEW", "see", "the", "result", "JSON", "(1", "case)"]


def test_warning_text_covers_the_stable_codes() -> None:
    for code in (
        "HIGH_NOISE",
        "NOT_CONVERGED",
        "BACKEND_FALLBACK",
        "NUMERICAL_MISMATCH",
        "THROTTLED",
        "ENERGY_WINDOW_TOO_SHORT",
        "ENERGY_COUNTER_STALLED",
        "NVML_ERROR",
    ):
        assert 0 < len(WARNING_TEXT[code]) <= 64


def test_results_table_is_a_rich_table_and_drops_empty_columns() -> None:
    case = ok_case(
        "cog.naive",
        {"seq_len": 128, "causal": False},
        median_ms=1.0,
        flops=1e9,
        peak=1024.0,
        err=0.0,
        backend="eager",
        joules=None,
    )
    del case.metrics["error/max_abs"]
    run = RunResult(suite={"name": "s"}, environment={}, settings={}, cases=[case])
    table = results_table(run)
    assert isinstance(table, Table)
    headers = [str(c.header) for c in table.columns]
    assert "max err" not in headers
    assert headers[:3] == ["case", "status", "median"]


def test_empty_run_renders() -> None:
    run = RunResult(suite={"name": "empty"}, environment={}, settings={})
    text = render(run)
    assert "0 cases: 0 ok" in text


def test_ratio_table_without_baseline(run_result: RunResult) -> None:
    console = plain_console()
    console.print(ratio_table(run_result, baseline_variant="softmax.naive"))
    text = console.export_text()
    assert "no ok softmax.naive case in this run" in text
    assert "cog.streaming" in text and "–" in text
