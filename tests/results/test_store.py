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
from attnbench.results.store import case_line, dumps, load_results, save_results


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


# ------------------------------------------------------------------------- the file layout
def tiny_run(*cases: CaseResult) -> RunResult:
    run = RunResult(suite={"n": 1}, environment={}, settings={}, created_utc="T",
                    attnbench_version="0.1")  # fmt: skip
    run.cases.extend(cases)
    return run


HEAD_TEXT = (
    '{\n "schema_version": "1.0.0",\n "attnbench_version": "0.1",\n "created_utc": "T",\n'
    ' "suite": {\n  "n": 1\n },\n "environment": {},\n "git": {},\n "settings": {},\n'
    ' "run": {},\n "metric_catalog": {},\n "cases": '
)


def test_the_file_text_is_an_indented_head_and_one_case_per_line() -> None:
    assert dumps(tiny_run()) == HEAD_TEXT + "[]\n}\n"
    a = CaseResult("a/1", "a", {}, "ok")
    b = CaseResult("a/2", "a", {}, "skipped")
    assert dumps(tiny_run(a, b)) == (
        HEAD_TEXT + "[\n  " + case_line(a) + ",\n  " + case_line(b) + "\n ]\n}\n"
    )
    assert case_line(a) == json.dumps(a.to_dict())


def test_non_finite_numbers_become_null_at_any_depth() -> None:
    case = CaseResult(
        "a/1", "a", {"x": math.nan, "n": 3, "deep": {"l": [math.inf, 1.5, (-math.inf,)]}},
        "ok", metrics={"m": -math.inf, "k": 2.0}, samples=[1.0, math.inf],
    )  # fmt: skip
    data = json.loads(case_line(case))
    assert data["params"] == {"x": None, "n": 3, "deep": {"l": [None, 1.5, [None]]}}
    assert data["metrics"] == {"m": None, "k": 2.0}
    assert data["samples"] == [1.0, None]
    run = tiny_run(case)
    run.settings["timing"] = {"limit": math.inf, "ok": 0.5}
    assert json.loads(dumps(run))["settings"] == {"timing": {"limit": None, "ok": 0.5}}


def test_cached_lines_are_reused_only_for_the_very_same_object() -> None:
    a = CaseResult("a/1", "a", {}, "ok")
    fresh = dumps(tiny_run(a))
    assert dumps(tiny_run(a), {"a/1": (a, '{"cached": 1}')}) == (
        HEAD_TEXT + '[\n  {"cached": 1}\n ]\n}\n'
    )
    equal_copy = CaseResult("a/1", "a", {}, "ok")
    assert dumps(tiny_run(a), {"a/1": (equal_copy, '{"cached": 1}')}) == fresh
    assert dumps(tiny_run(a), {"other": (a, '{"cached": 1}')}) == fresh


# ------------------------------------------------------------------------------ atomic write
def test_the_file_is_readable_as_the_umask_allows(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        path = save_results(tiny_run(), tmp_path / "r.json")
        assert os.stat(path).st_mode & 0o777 == 0o640
        assert os.umask(0o027) == 0o027  # the write restored the process umask
        os.umask(0o002)
        save_results(tiny_run(), path)
        assert os.stat(path).st_mode & 0o777 == 0o664
    finally:
        os.umask(old)


def test_the_temporary_file_sits_beside_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str]] = []
    real = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append((src, os.fspath(dst)))
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    target = tmp_path / "deep" / "er" / "r.json"
    save_results(tiny_run(), target)
    ((src, dst),) = seen
    assert dst == str(target)
    assert Path(src).parent == target.parent
    assert Path(src).name.startswith(".r.json.") and src.endswith(".tmp")
    assert target.read_text(encoding="utf-8") == HEAD_TEXT + "[]\n}\n"
    save_results(tiny_run(), target)  # the folder exists now: written again
    assert sorted(p.name for p in target.parent.iterdir()) == ["r.json"]


# --------------------------------------------------------------------------- load_results
def test_load_refusals_word_for_word(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ResultFileError) as info:
        load_results(missing)
    assert str(info.value) == f"result file not found: {missing}"
    with pytest.raises(ResultFileError) as info:
        load_results(tmp_path)
    assert str(info.value) == f"{tmp_path} is a directory, not a result file"
    listed = tmp_path / "list.json"
    listed.write_text("[1]")
    with pytest.raises(ResultFileError) as info:
        load_results(listed)
    assert str(info.value) == (
        f"{listed}: not an attnbench result file (top level is not an object)"
    )
    no_version = tmp_path / "nov.json"
    no_version.write_text("{}")
    with pytest.raises(ResultFileError) as info:
        load_results(str(no_version))
    assert str(info.value) == f"{no_version}: not an attnbench result file (no 'schema_version')"

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ResultFileError) as info:
        load_results(listed)
    assert str(info.value) == f"cannot read result file {listed}: Permission denied"


def test_a_bad_value_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    data = tiny_run(CaseResult("a/1", "a", {}, "ok")).to_dict()
    data["cases"][0]["status"] = "weird"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultFileError) as info:
        load_results(path)
    assert str(info.value) == (
        f'{path}: $.cases[0].status: expected one of "ok", "skipped", "oom", "failed", '
        'got "weird"'
    )


def test_a_journaled_case_is_validated_with_the_journal_named(tmp_path: Path) -> None:
    path = save_results(tiny_run(), tmp_path / "r.json")
    header = {"attnbench_journal": 1, "created_utc": "T", "content_hash": None}
    bad = CaseResult("a/1", "a", {}, "weird").to_dict()
    journal = tmp_path / "r.json.journal"
    journal.write_text(json.dumps(header) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(ResultFileError) as info:
        load_results(path)
    assert str(info.value).startswith(
        f"{path} (with r.json.journal): $.cases[0].status: expected one of"
    )
    assert load_results(path, journal=False).cases == []
    good = CaseResult("a/1", "a", {}, "ok")
    journal.write_text(json.dumps(header) + "\n" + json.dumps(good.to_dict()) + "\n")
    run = load_results(path)
    assert run.cases == [good]
    assert run.run["journal"] == {"path": str(journal), "folded_cases": 1}
