"""The numbers behind the report's plots (golden ``report.json``), labels, series and claims."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest

from attnbench.errors import InputError
from attnbench.report.bundle import build_bundle, claims, default_label, run_labels
from attnbench.report.series import (
    ENERGY,
    MEMORY,
    RATIO,
    TFLOPS,
    TIME,
    RunInput,
    build_series,
    facets,
    joules_per_token,
)
from attnbench.results.schema import RunResult
from tests.report.conftest import check_golden, ok_case, sample_run

A100 = "NVIDIA A100-SXM4-80GB"
STAMP = "2025-06-02T00:00:00+00:00"


def second_run() -> RunResult:
    """The sample run again on an A100: every time 1.7× longer, throughput 1.7× lower."""
    run = copy.deepcopy(sample_run())
    run.environment["gpus"] = [{"name": A100}]
    run.settings["device"] = {"kind": "cuda", "index": 0, "name": A100}
    for case in run.cases:
        for key in ("time/median_ms", "time/q1_ms", "time/q3_ms"):
            if key in case.metrics:
                case.metrics[key] *= 1.7
        if "throughput/tflops" in case.metrics:
            case.metrics["throughput/tflops"] /= 1.7
    return run


def with_quartiles(run: RunResult) -> RunResult:
    for case in run.cases:
        median = case.metric("time/median_ms")
        if median is not None:
            case.metrics.setdefault("time/q1_ms", median * 0.97)
            case.metrics.setdefault("time/q3_ms", median * 1.05)
    return run


def two_runs() -> list[RunInput]:
    first = with_quartiles(sample_run())
    second = second_run()
    labels = run_labels([(first, "h100.json"), (second, "a100.json")], [])
    return [RunInput(labels[0], "h100.json", first), RunInput(labels[1], "a100.json", second)]


def _rounded(value: Any) -> Any:
    """Floats to 9 significant figures, so last-bit differences between platforms vanish."""
    if isinstance(value, float):
        return float(f"{value:.9g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def test_report_json_golden() -> None:
    document = build_bundle(two_runs(), created_utc=STAMP).to_dict(["report.json"])
    document.pop("attnbench_version")
    check_golden("report_bundle.json", json.dumps(_rounded(document), indent=1, sort_keys=True))


def test_default_labels_gpu_then_git_then_file_name() -> None:
    run = sample_run()
    assert default_label(run, "x/r.json") == "NVIDIA H100 80GB HBM3"
    run.settings["device"] = {"kind": "cpu", "name": "cpu"}
    assert default_label(run, "x/r.json") == "3f9c2ab1d4"  # a CPU run on a GPU host: not the GPU
    run.git = {"sha": "3f9c2ab1d4e5f607", "dirty": True}
    assert default_label(run, "x/r.json") == "3f9c2ab1d4-dirty"
    run.git = {"sha": None, "dirty": None}
    assert default_label(run, "x/r.json") == "r.json"


def test_equal_default_labels_are_told_apart_by_file_name() -> None:
    run = sample_run()
    labels = run_labels([(run, "a/one.json"), (run, "b/two.json"), (second_run(), "c.json")], [])
    assert labels == [
        "NVIDIA H100 80GB HBM3 (one.json)",
        "NVIDIA H100 80GB HBM3 (two.json)",
        A100,
    ]
    same_name = run_labels([(run, "a/r.json"), (run, "b/r.json")], [])
    assert same_name == ["NVIDIA H100 80GB HBM3 (a/r.json)", "NVIDIA H100 80GB HBM3 (b/r.json)"]


def test_given_labels_one_per_run_and_distinct() -> None:
    run = sample_run()
    assert run_labels([(run, "a"), (run, "b")], ["base", "new"]) == ["base", "new"]
    with pytest.raises(InputError, match="--label given 1 time"):
        run_labels([(run, "a"), (run, "b")], ["base"])
    with pytest.raises(InputError, match="must differ"):
        run_labels([(run, "a"), (run, "b")], ["x", "x"])


def test_series_are_split_by_facet_and_ordered_by_length() -> None:
    runs = two_runs()
    series = build_series(runs[:1], TIME)
    sdpa = [s for s in series if s.variant == "softmax.sdpa"]
    assert [dict(s.facet)["causal"] for s in sdpa] == [False, True]
    assert [p.seq_len for p in sdpa[0].points] == [1024, 4096, 16384]
    assert [p.value for p in sdpa[0].points] == [0.02131, 0.1762, 2.714]
    assert sdpa[0].points[0].low == pytest.approx(0.02131 * 0.97)
    assert sdpa[0].points[0].high == pytest.approx(0.02131 * 1.05)
    assert facets(series) == [
        (("pass", "fwd"), ("head_dim", 64), ("causal", False)),
        (("pass", "fwd"), ("head_dim", 64), ("causal", True)),
    ]


def test_variant_parameters_that_vary_split_lines_and_constant_ones_do_not() -> None:
    lines = {s.line for s in build_series(two_runs()[:1], TIME)}
    assert "sinkhorn.log iters=1" in lines and "sinkhorn.log iters=5" in lines
    assert "dipole.v2" in lines  # alpha and beta never vary
    assert "softmax.sdpa" in lines


def test_cases_that_did_not_run_stay_as_points_without_value() -> None:
    series = build_series(two_runs()[:1], MEMORY)
    naive = next(s for s in series if s.variant == "cog.naive")
    oom = next(p for p in naive.points if p.status == "oom")
    assert oom.value is None and oom.seq_len == 16384
    assert oom.estimate == 32.0 * 1024**3  # the memory figure marks it at its estimate
    assert oom.reason.startswith("CUDA out of memory")
    # a line whose cases all failed is still drawn (as markers), a figure needs some value
    dipole = [s for s in build_series(two_runs()[:1], TIME) if s.variant == "dipole.v2"]
    assert len(dipole) == 1 and dipole[0].points[0].status == "failed"


def test_tflops_interval_comes_from_the_time_quartiles() -> None:
    series = build_series(two_runs()[:1], TFLOPS)
    p = next(s for s in series if s.variant == "softmax.sdpa").points[0]
    flops = 4.0 * 16 * 1024 * 1024 * 64
    assert p.low == pytest.approx(flops / (0.02131 * 1.05e-3) / 1e12)
    assert p.high == pytest.approx(flops / (0.02131 * 0.97e-3) / 1e12)
    assert p.low < p.value < p.high  # type: ignore[operator]


def test_energy_per_token_stored_or_derived_and_absent_when_unmeasured() -> None:
    case = ok_case("v", {"batch": 2, "seq_len": 1000, "causal": False}, median_ms=1.0,
                   flops=1.0, peak=1.0, err=0.0, backend="eager", joules=0.5)
    assert joules_per_token(case) == pytest.approx(0.5 / 2000)
    case.metrics["energy/joules_per_token"] = 1e-3
    assert joules_per_token(case) == 1e-3
    unmeasured = ok_case("v", {"batch": 1, "seq_len": 8, "causal": False}, median_ms=1.0,
                         flops=1.0, peak=1.0, err=0.0, backend="eager", joules=None)
    assert joules_per_token(unmeasured) is None
    lines = {s.line for s in build_series(two_runs()[:1], ENERGY) if s.ok_points()}
    assert "cog.naive" in lines and "cog.streaming" in lines


def test_ratio_figure_only_when_cases_carry_ratios_with_intervals() -> None:
    runs = two_runs()[:1]
    bundle = build_bundle(runs, created_utc=STAMP)
    assert "ratio" not in {f.metric.key for f in bundle.figures}
    assert any("ratio to baseline" in n for n in bundle.notes)
    case = runs[0].run.cases[0]
    case.metrics.update({"ratio/to_baseline": 1.25, "ratio/ci_low": 1.2, "ratio/ci_high": 1.31})
    series = build_series(runs, RATIO)
    point = next(p for s in series for p in s.points if p.value is not None)
    assert (point.value, point.low, point.high) == (1.25, 1.2, 1.31)
    assert "ratio" in {f.metric.key for f in build_bundle(runs, created_utc=STAMP).figures}
    case.metrics["ratio/ci_high"] = 1.0  # an interval below its own low end is not drawn
    point = next(p for s in build_series(runs, RATIO) for p in s.points if p.value is not None)
    assert point.low is None and point.high is None


def test_claims_come_from_the_stored_models_then_the_registry() -> None:
    run = sample_run()
    run.cases[0].models = {"time": "O(N)"}  # what the run recorded wins
    found = claims([RunInput("x", "x.json", run)])
    assert found["softmax.sdpa"] == "O(N)"
    assert found["cog.naive"] == "O(N^2)"  # not stored in this file: the registry's
    assert "no.such" not in claims([RunInput("x", "x", RunResult({}, {}, {}))])
