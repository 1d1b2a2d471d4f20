"""The result dataclasses: lossless dict round trips, defaults for absent keys, lookups."""

from __future__ import annotations

from attnbench.results.schema import SCHEMA_VERSION, CaseResult, RunResult


def full_run() -> RunResult:
    run = RunResult(
        suite={"name": "s"}, environment={"host": "h"}, settings={"device": "cpu"},
        git={"sha": "abc"}, run={"argv": ["run"]}, metric_catalog={"m": {"unit": "ms"}},
        schema_version="1.0.0", attnbench_version="0.2", created_utc="T",
    )  # fmt: skip
    run.cases = [CaseResult("a/1", "a.x", {"seq_len": 8}, "ok", metrics={"m": 1.0})]
    return run


def test_header_dict_lists_the_provenance_in_file_order() -> None:
    header = full_run().header_dict()
    assert list(header) == ["schema_version", "attnbench_version", "created_utc", "suite",
                            "environment", "git", "settings", "run", "metric_catalog"]  # fmt: skip
    assert header == {
        "schema_version": "1.0.0", "attnbench_version": "0.2", "created_utc": "T",
        "suite": {"name": "s"}, "environment": {"host": "h"}, "git": {"sha": "abc"},
        "settings": {"device": "cpu"}, "run": {"argv": ["run"]},
        "metric_catalog": {"m": {"unit": "ms"}},
    }  # fmt: skip
    assert full_run().to_dict() == {**header, "cases": [full_run().cases[0].to_dict()]}


def test_from_dict_round_trips_and_fills_absent_keys() -> None:
    assert RunResult.from_dict(full_run().to_dict()) == full_run()
    bare = RunResult.from_dict({"schema_version": "0.9.9"})
    assert bare == RunResult(suite={}, environment={}, settings={}, schema_version="0.9.9")
    assert (bare.attnbench_version, bare.created_utc, bare.git, bare.run) == ("", "", {}, {})
    assert (bare.metric_catalog, bare.cases) == ({}, [])
    assert RunResult(suite={}, environment={}, settings={}).schema_version == SCHEMA_VERSION


def test_case_from_dict_ignores_keys_it_does_not_know() -> None:
    data = {**CaseResult("a/1", "a.x", {}, "ok").to_dict(), "future_field": 1}
    assert CaseResult.from_dict(data) == CaseResult("a/1", "a.x", {}, "ok")


def test_metric_lookups() -> None:
    case = CaseResult("a/1", "a.x", {}, "ok", metrics={"n": 3, "gone": None})  # type: ignore[dict-item]
    assert case.metric("n") == 3.0 and isinstance(case.metric("n"), float)
    assert case.metric("gone") is None and case.metric("absent") is None


def test_case_lookup_and_upsert_keep_order() -> None:
    run = full_run()
    second = CaseResult("a/2", "a.x", {}, "failed")
    run.upsert(second)
    assert run.case("a/2") is second and run.case("a/9") is None
    replacement = CaseResult("a/1", "a.x", {}, "oom")
    run.upsert(replacement)
    assert run.cases == [replacement, second]
    assert run.counts() == {"ok": 0, "skipped": 0, "oom": 1, "failed": 1}
