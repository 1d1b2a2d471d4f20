"""``compare_runs`` on constructed runs: matching, ratios and their fallbacks, the geometric
means (which cases count), the partial list and the JSON form, each value known in advance."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from attnbench.compare.runs import METHOD, Cell, compare_runs
from attnbench.compare.stats import geomean, ratio_of_medians
from attnbench.results.schema import RunResult
from tests.compare.helpers import case, case_id, run, samples

A64, A128, B64 = case_id("a", 64), case_id("a", 128), case_id("b", 64)


def _runs(scale: float = 1.25) -> tuple[RunResult, RunResult]:
    first = run(
        [
            case("a", 64, samples(1.0, seed=1)),
            case("a", 128, samples(2.0, seed=2)),
            case("b", 64, samples(4.0, seed=3)),
        ],
        sha="1111111111aa",
    )
    second = run(
        [
            case("a", 64, samples(1.0 * scale, seed=4)),
            case("a", 128, samples(2.0 * scale, seed=5)),
            case("b", 64, samples(4.0 * scale, seed=6)),
        ],
        sha="2222222222bb",
    )
    return first, second


def _paths(n: int) -> list[Path]:
    return [Path(f"run{i}.json") for i in range(n)]


def test_ratio_is_the_bootstrap_ratio_of_medians() -> None:
    first, second = _runs()
    comp = compare_runs([first, second], _paths(2))
    row = comp.rows[0]
    assert row.case_id == A64 and row.variant == "a"
    assert row.cells[0] is not None and row.cells[0].ratio is None  # the first run is the base
    got = row.cells[1]
    assert got is not None and got.ratio is not None
    want = ratio_of_medians(first.cases[0].samples, second.cases[0].samples)
    assert (got.ratio.ratio, got.ratio.ci_low, got.ratio.ci_high) == (
        want.ratio,
        want.ci_low,
        want.ci_high,
    )
    assert got.ratio.ratio == pytest.approx(1.25, rel=0.03)
    assert got.code_changed is False


def test_geomean_per_variant_over_shared_cases_with_count() -> None:
    first, second = _runs()
    comp = compare_runs([first, second], _paths(2))
    assert [(m.variant, m.run, m.count) for m in comp.means] == [("a", 1, 2), ("b", 1, 1)]
    want = geomean(
        [
            ratio_of_medians(first.cases[0].samples, second.cases[0].samples),
            ratio_of_medians(first.cases[1].samples, second.cases[1].samples),
        ]
    )
    got = comp.means[0].estimate
    assert (got.ratio, got.ci_low, got.ci_high) == (want.ratio, want.ci_low, want.ci_high)


def test_cases_missing_or_failed_somewhere_are_listed_never_averaged() -> None:
    first, second = _runs()
    second.cases = [second.cases[0], case("a", 128, status="failed", reason="boom")]
    second.cases.append(case("c", 64, samples(1.0)))  # new in the second run
    comp = compare_runs([first, second], _paths(2))
    assert [r.case_id for r in comp.rows] == [A64, A128, B64, case_id("c", 64)]
    assert [r.shared for r in comp.rows] == [True, False, False, False]
    assert [r.case_id for r in comp.partial()] == [A128, B64, case_id("c", 64)]
    assert [(m.variant, m.count) for m in comp.means] == [("a", 1)]
    failed = comp.rows[1].cells[1]
    assert failed is not None and failed.ratio is None and failed.value("median_ms") is None
    assert comp.rows[2].cells[1] is None  # b/64 absent from the second run
    new = comp.rows[3]
    assert new.cells[0] is None and new.cells[1] is not None and new.cells[1].ratio is None


def test_three_runs_ratio_each_to_the_first() -> None:
    first, second = _runs(1.25)
    _, third = _runs(0.8)
    comp = compare_runs([first, second, third], _paths(3))
    cells = comp.rows[0].cells
    assert cells[1] is not None and cells[1].ratio is not None
    assert cells[2] is not None and cells[2].ratio is not None
    assert cells[1].ratio.ratio == pytest.approx(1.25, rel=0.03)
    assert cells[2].ratio.ratio == pytest.approx(0.8, rel=0.03)
    assert [(m.variant, m.run) for m in comp.means] == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]


def test_without_samples_the_ratio_falls_back_to_the_stored_median() -> None:
    first, second = _runs()
    for c in (first.cases[0], second.cases[0]):
        c.samples = []
    comp = compare_runs([first, second], _paths(2))
    got = comp.rows[0].cells[1]
    assert got is not None and got.ratio is not None
    want = second.cases[0].metrics["time/median_ms"] / first.cases[0].metrics["time/median_ms"]
    assert (got.ratio.ratio, got.ratio.ci_low, got.ratio.ci_high) == (want, want, want)
    assert got.ratio.log_replicates.size == 0
    # a point ratio has no interval, so variant a's mean is not formed from it
    assert [(m.variant, m.count) for m in comp.means] == [("b", 1)]


def test_a_zero_sample_uses_the_stored_median_instead() -> None:
    first, second = _runs()
    first.cases[0].samples[0] = 0.0
    comp = compare_runs([first, second], _paths(2))
    got = comp.rows[0].cells[1]
    assert got is not None and got.ratio is not None
    assert got.ratio.log_replicates.size == 0
    assert got.ratio.ratio == pytest.approx(
        second.cases[0].metrics["time/median_ms"] / first.cases[0].metrics["time/median_ms"]
    )


def test_no_ratio_without_samples_or_a_positive_median() -> None:
    first, second = _runs()
    for c in (first.cases[0], second.cases[0]):
        c.samples = []
    first.cases[0].metrics["time/median_ms"] = 0.0
    comp = compare_runs([first, second], _paths(2))
    got = comp.rows[0].cells[1]
    assert got is not None and got.ratio is None


def test_a_changed_fingerprint_is_flagged_on_the_cell() -> None:
    first, second = _runs()
    second.cases[1].fingerprint = "b" * 16
    comp = compare_runs([first, second], _paths(2))
    flags = [r.cells[1].code_changed for r in comp.rows if r.cells[1] is not None]
    assert flags == [False, True, False]


def test_run_info_labels_by_commit_then_device() -> None:
    first, second = _runs()
    comp = compare_runs([first, second], _paths(2))
    assert [(r.label, r.path, r.device, r.commit) for r in comp.runs] == [
        ("1111111111", "run0.json", "Test CPU 9000", "1111111111aa"),
        ("2222222222", "run1.json", "Test CPU 9000", "2222222222bb"),
    ]
    named = compare_runs([first, second], _paths(2), ["base", "head"])
    assert [r.label for r in named.runs] == ["base", "head"]
    second.git = {}
    no_sha = compare_runs([first, second], _paths(2))
    assert no_sha.runs[1].commit is None
    assert [r.label for r in no_sha.runs] == ["run0.json", "run1.json"]


def test_cell_values_read_the_catalog_metrics() -> None:
    c = case(
        "a", 64, samples(2.0), extra={"memory/peak_bytes": 1024.0, "energy/joules_per_call": 0.5}
    )
    cell = Cell(c)
    assert cell.value("median_ms") == c.metrics["time/median_ms"]
    assert cell.value("tflops") == pytest.approx(1e9 / (c.metrics["time/median_ms"] * 1e-3) / 1e12)
    assert cell.value("peak_bytes") == 1024.0
    assert cell.value("joules") == 0.5
    assert cell.value("pct_peak") is None


def test_to_dict_has_every_field() -> None:
    first, second = _runs()
    second.cases = second.cases[:2]
    comp = compare_runs([first, second], _paths(2), ["base", "head"])
    doc = comp.to_dict()
    assert doc["format"] == "attnbench.compare/1"
    assert doc["method"] == METHOD
    assert doc["runs"][1] == {
        "label": "head",
        "path": "run1.json",
        "device": "Test CPU 9000",
        "commit": "2222222222bb",
    }
    row = doc["cases"][0]
    assert (row["case_id"], row["variant"], row["shared"]) == (A64, "a", True)
    base_cell, head_cell = row["runs"]
    assert base_cell["ratio"] is None and base_cell["status"] == "ok"
    assert set(head_cell) == {
        "status",
        "median_ms",
        "tflops",
        "pct_peak",
        "peak_bytes",
        "joules",
        "ratio",
        "code_changed",
    }
    assert head_cell["median_ms"] == second.cases[0].metrics["time/median_ms"]
    est = comp.rows[0].cells[1]
    assert est is not None and est.ratio is not None
    assert head_cell["ratio"] == {
        "ratio": est.ratio.ratio,
        "ci_low": est.ratio.ci_low,
        "ci_high": est.ratio.ci_high,
    }
    assert head_cell["code_changed"] is False
    assert doc["cases"][2]["runs"][1] is None
    assert doc["partial"] == [B64]
    (mean,) = doc["geomean"]
    assert mean["variant"] == "a" and mean["run"] == "head" and mean["count"] == 2
    assert mean["ratio"] == comp.means[0].estimate.ratio
    assert mean["ci_low"] < mean["ratio"] < mean["ci_high"]


def test_mean_interval_brackets_the_point_and_scales_with_the_change() -> None:
    first, second = _runs(1.5)
    comp = compare_runs([first, second], _paths(2))
    m = comp.means[0].estimate
    assert m.ci_low < m.ratio < m.ci_high
    assert math.exp(np.median(m.log_replicates)) == pytest.approx(1.5, rel=0.03)


def test_stored_medians_under_a_millisecond_still_give_a_ratio() -> None:
    first, second = _runs()
    for c, ms in ((first.cases[0], 0.5), (second.cases[0], 0.75)):
        c.samples = []
        c.metrics["time/median_ms"] = ms
    got = compare_runs([first, second], _paths(2)).rows[0].cells[1]
    assert got is not None and got.ratio is not None
    assert (got.ratio.ratio, got.ratio.ci_low, got.ratio.ci_high) == (1.5, 1.5, 1.5)


def test_no_stored_ratio_when_a_median_is_missing_or_zero() -> None:
    for first_ms, other_ms in ((1.0, None), (None, 1.0), (1.0, 0.0), (-1.0, 2.0)):
        first, second = _runs()
        for c, ms in ((first.cases[0], first_ms), (second.cases[0], other_ms)):
            c.samples = []
            if ms is None:
                del c.metrics["time/median_ms"]
            else:
                c.metrics["time/median_ms"] = ms
        got = compare_runs([first, second], _paths(2)).rows[0].cells[1]
        assert got is not None and got.ratio is None, (first_ms, other_ms)


def test_a_failed_first_run_case_gives_no_ratio() -> None:
    first, second = _runs()
    first.cases[0] = case("a", 64, status="failed", reason="boom")
    comp = compare_runs([first, second], _paths(2))
    cell = comp.rows[0].cells[1]
    assert cell is not None and cell.ratio is None and not comp.rows[0].shared
    # variant a keeps its one shared case in the mean
    assert [(m.variant, m.count) for m in comp.means] == [("a", 1), ("b", 1)]


def test_one_interval_less_case_keeps_the_variant_out_of_the_mean() -> None:
    first, second = _runs()
    for c in (first.cases[1], second.cases[1]):
        c.samples = []  # a/128: a point ratio only
    comp = compare_runs([first, second], _paths(2))
    assert [(m.variant, m.count) for m in comp.means] == [("b", 1)]


def test_a_run_without_a_device_model_is_named_by_its_kind() -> None:
    first, second = _runs()
    second.settings["device"] = {"kind": "cpu", "name": ""}
    second.environment["cpu"] = {}
    comp = compare_runs([first, second], _paths(2))
    assert [r.device for r in comp.runs] == ["Test CPU 9000", "cpu"]


def test_to_dict_of_a_case_missing_from_the_first_run() -> None:
    first, second = _runs()
    second.cases.append(case("c", 64, samples(1.0)))
    doc = compare_runs([first, second], _paths(2), ["base", "head"]).to_dict()
    new = doc["cases"][3]
    assert (new["case_id"], new["variant"], new["shared"]) == (case_id("c", 64), "c", False)
    assert new["runs"][0] is None
    assert new["runs"][1]["ratio"] is None and new["runs"][1]["code_changed"] is False
    assert doc["partial"] == [case_id("c", 64)]
    assert [(m["variant"], m["run"], m["count"]) for m in doc["geomean"]] == [
        ("a", "head", 2), ("b", "head", 1)
    ]  # fmt: skip


def test_a_zero_sample_in_a_later_run_uses_the_stored_median_too() -> None:
    first, second = _runs()
    second.cases[0].samples[5] = 0.0
    got = compare_runs([first, second], _paths(2)).rows[0].cells[1]
    assert got is not None and got.ratio is not None and got.ratio.log_replicates.size == 0
    assert got.ratio.ratio == (
        second.cases[0].metrics["time/median_ms"] / first.cases[0].metrics["time/median_ms"]
    )


def test_no_ratio_against_a_failed_first_case_that_kept_its_numbers() -> None:
    first, second = _runs()
    first.cases[0].status = "failed"  # samples and metrics left in it
    assert first.cases[0].samples and first.cases[0].metrics
    got = compare_runs([first, second], _paths(2)).rows[0].cells[1]
    assert got is not None and got.ratio is None
    first, second = _runs()
    second.cases[0].status = "failed"
    got = compare_runs([first, second], _paths(2)).rows[0].cells[1]
    assert got is not None and got.ratio is None
