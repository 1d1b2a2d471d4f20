"""Paired ratios in reports: the run-table column, the ratio table, the unpaired fallback."""

from __future__ import annotations

from attnbench.report.console import ratio_table, render_run, stored_baseline
from attnbench.report.rows import build_report
from attnbench.results.schema import CaseResult, RunResult
from tests.report.conftest import ok_case, plain_console

SHAPE = {"batch": 1, "heads": 16, "seq_len": 1024, "head_dim": 64, "head_dim_v": 64,
         "causal": False, "dtype": "bf16", "pass": "fwd"}
GROUP = "b1-h16-n1024-d64-full-bf16-fwd"


def _member(variant: str, median_ms: float, ratio: tuple[float, ...] | None) -> CaseResult:
    case = ok_case(variant, dict(SHAPE), median_ms=median_ms, flops=1e9, peak=1e6, err=1e-6,
                   backend="eager", joules=None)
    case.group = GROUP
    case.baseline = f"softmax.sdpa/{GROUP}"
    if ratio is not None:
        keys = ("ratio/to_baseline", "ratio/ci_low", "ratio/ci_high", "ratio/pairs")
        case.metrics.update(dict(zip(keys, ratio, strict=False)))
    return case


def paired_run() -> RunResult:
    cases = [
        _member("softmax.sdpa", 1.0, (1.0, 1.0, 1.0, 40)),
        # the medians give 3.0x, the paired rounds 2.5x: the table must show the paired one
        _member("cog.naive", 3.0, (2.5, 2.4, 2.62, 40)),
        _member("softmax.naive", 2.0, (1.9, 40.0)),  # too few pairs: no interval stored
        _member("dipole.v1", 4.0, (4.1, 4.0, 4.2, 40)),
    ]
    cases[2].metrics["ratio/pairs"] = 4.0
    return RunResult(suite={"name": "p"}, environment={}, settings={}, cases=cases)


def _text(table: object, width: int = 140) -> str:
    console = plain_console(width)
    console.print(table)
    return console.export_text()


def test_run_table_shows_paired_ratio_and_interval() -> None:
    rows = {r.case.variant: r.cells["ratio"] for r in build_report(paired_run()).rows}
    assert rows["softmax.sdpa"] == "baseline"
    assert rows["cog.naive"] == "2.50× (2.40–2.62)"
    assert rows["softmax.naive"] == "1.90× (no CI)"
    console = plain_console(160)
    render_run(paired_run(), console)
    assert "× base (95%)" in console.export_text()


def test_ratio_table_uses_stored_paired_ratios() -> None:
    run = paired_run()
    assert stored_baseline(run) == "softmax.sdpa"
    text = _text(ratio_table(run))
    cog = next(line for line in text.splitlines() if line.startswith("cog.naive"))
    assert "2.50×" in cog and "2.40–2.62" in cog and "paired n=40" in cog
    assert "3.00×" not in cog
    assert "paired: median of per-round ratios" in text
    assert "unpaired" not in text


def test_ratio_to_another_variant_falls_back_to_labelled_unpaired_medians() -> None:
    text = _text(ratio_table(paired_run(), "softmax.naive"))
    cog = next(line for line in text.splitlines() if line.startswith("cog.naive"))
    assert "1.50×" in cog and "unpaired" in cog  # 3.0 ms / 2.0 ms, no interval
    assert "2.40" not in cog
    assert "unpaired: ratio of medians timed apart, NO interval (3 rows)" in text


def test_a_single_sample_has_no_spread() -> None:
    one = ok_case("softmax.sdpa", dict(SHAPE), median_ms=488.0, flops=1e9, peak=1e6, err=0.0,
                  backend="eager", joules=None, rel_iqr=0.0, samples=1)
    two = ok_case("softmax.sdpa", {**SHAPE, "seq_len": 2048}, median_ms=488.0, flops=1e9,
                  peak=1e6, err=0.0, backend="eager", joules=None, rel_iqr=0.0, samples=2)
    rows = build_report(RunResult(suite={}, environment={}, settings={}, cases=[one, two])).rows
    assert [r.cells["iqr"] for r in rows] == ["–", "0%"]
