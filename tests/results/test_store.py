"""Result files: lossless round trip, atomic writes, version handling, clear errors."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from attnbench.errors import ResultFileError
from attnbench.results.migrate import migrate
from attnbench.results.schema import SCHEMA_VERSION, CaseResult, RunResult
from attnbench.results.store import load_results, save_results


def sample_run() -> RunResult:
    run = RunResult(
        suite={"name": "t", "path": "s.yaml", "content_hash": "abc", "case_count": 2},
        environment={"torch": "x"},
        settings={"timing": {"min_samples": 10}},
        git={"sha": None, "dirty": None},
        attnbench_version="0.1.0",
        created_utc="2026-01-01T00:00:00Z",
    )
    run.cases.append(
        CaseResult(
            case_id="softmax.sdpa/b1-h2-n8-d4-full-fp32-fwd",
            variant="softmax.sdpa",
            params={"batch": 1, "causal": False},
            status="ok",
            metrics={"time/median_ms": 1.5, "time/rel_iqr": math.inf},
            samples=[1.4, 1.5, 1.6],
            warnings=["HIGH_NOISE"],
        )
    )
    run.cases.append(CaseResult("x/y", "x.y", {}, "skipped", reason="no causal"))
    return run


def test_round_trip(tmp_path: Path) -> None:
    path = save_results(sample_run(), tmp_path / "sub" / "r.json")
    loaded = load_results(path)
    assert loaded.schema_version == SCHEMA_VERSION
    assert loaded.cases[0].samples == [1.4, 1.5, 1.6]
    assert loaded.cases[0].warnings == ["HIGH_NOISE"]
    assert loaded.cases[0].metrics["time/rel_iqr"] is None  # inf is stored as null
    assert loaded.cases[1].reason == "no causal"
    assert loaded.to_dict()["suite"] == sample_run().to_dict()["suite"]
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temp file left


def test_failed_write_keeps_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_results(sample_run(), tmp_path / "r.json")
    before = path.read_text()

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_results(RunResult(suite={}, environment={}, settings={}), path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_upsert_replaces_by_case_id() -> None:
    run = sample_run()
    run.upsert(CaseResult("x/y", "x.y", {}, "ok"))
    assert len(run.cases) == 2 and run.case("x/y") is not None
    assert run.case("x/y").status == "ok"  # type: ignore[union-attr]
    assert run.counts() == {"ok": 2, "skipped": 0, "oom": 0, "failed": 0}


def test_counts_include_every_status_once_per_case() -> None:
    run = RunResult(suite={}, environment={}, settings={})
    run.cases = [
        CaseResult("a/1", "a", {}, "failed"),
        CaseResult("a/2", "a", {}, "oom"),
        CaseResult("a/3", "a", {}, "failed"),
        CaseResult("a/4", "a", {}, "interrupted"),  # a status outside the usual four
    ]
    assert run.counts() == {"ok": 0, "skipped": 0, "oom": 1, "failed": 2, "interrupted": 1}


def test_newer_schema_is_refused_with_upgrade_hint(tmp_path: Path) -> None:
    data = sample_run().to_dict()
    data["schema_version"] = "99.0.0"
    p = tmp_path / "new.json"
    p.write_text(json.dumps(data))
    with pytest.raises(ResultFileError, match="Upgrade attnbench"):
        load_results(p)


@pytest.mark.parametrize(
    ("text", "match"),
    [("{not json", r"bad\.json:1:2: not valid JSON"), ("[1, 2]", "top level is not an object"),
     ('{"cases": []}', r"no 'schema_version'"), ('{"schema_version": "one"}', "malformed")],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "bad.json"
    p.write_text(text)
    with pytest.raises(ResultFileError, match=match):
        load_results(p)


def test_missing_file() -> None:
    with pytest.raises(ResultFileError, match="not found"):
        load_results("/nonexistent/r.json")
    assert ResultFileError("x").exit_code == 2


def test_older_version_without_migration_is_refused() -> None:
    with pytest.raises(ResultFileError, match=r"no migration from result schema 0\.9\.0"):
        migrate({"schema_version": "0.9.0"})
