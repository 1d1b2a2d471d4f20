"""``attnbench merge``: joins parts, keeps each part's environment, refuses what cannot join."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from attnbench.results.schema import CaseResult, RunResult
from attnbench.results.store import load_results, save_results
from tests.cli.conftest import CliResult

Cli = Callable[..., CliResult]


def part(path: Path, ids: list[str], *, content_hash: str = "h1", host: str = "a",
         shard: str | None = None, completed: bool = True) -> Path:
    run = RunResult(
        suite={"name": "s", "content_hash": content_hash, "case_count": len(ids)},
        environment={"host": host},
        settings={"device": {"kind": "cpu", "name": host}},
        created_utc="2026-01-01T00:00:00Z",
        run={"shard": shard, "completed": completed},
    )
    run.cases = [CaseResult(i, "v.x", {}, "ok", samples=[1.0]) for i in ids]
    return save_results(run, path)


def test_merge_joins_parts_and_keeps_their_environments(cli: Cli, tmp_path: Path) -> None:
    a = part(tmp_path / "a.json", ["v.x/1", "v.x/2"], host="gpu-a", shard="1/2")
    b = part(tmp_path / "b.json", ["v.x/3"], host="gpu-b", shard="2/2")
    out = tmp_path / "m.json"
    r = cli("merge", str(a), str(b), "--out", str(out))
    assert r.code == 0, r.err
    assert "3 cases" in r.err
    run = load_results(out)
    assert [c.case_id for c in run.cases] == ["v.x/1", "v.x/2", "v.x/3"]
    assert run.suite["case_count"] == 3 and run.run["completed"] is True
    parts = run.run["parts"]
    assert [p["environment"]["host"] for p in parts] == ["gpu-a", "gpu-b"]
    assert [p["case_ids"] for p in parts] == [["v.x/1", "v.x/2"], ["v.x/3"]]
    assert [p["source"] for p in parts] == [str(a), str(b)]
    # a merge of merges flattens the parts
    c = part(tmp_path / "c.json", ["v.x/4"], host="gpu-c", completed=False)
    out2 = tmp_path / "m2.json"
    assert cli("merge", str(out), str(c), "--out", str(out2)).code == 0
    run2 = load_results(out2)
    assert [p["environment"]["host"] for p in run2.run["parts"]] == ["gpu-a", "gpu-b", "gpu-c"]
    assert run2.run["completed"] is False


def test_overlapping_cases_are_refused(cli: Cli, tmp_path: Path) -> None:
    a = part(tmp_path / "a.json", ["v.x/1", "v.x/2"])
    b = part(tmp_path / "b.json", ["v.x/2", "v.x/3"])
    out = tmp_path / "m.json"
    r = cli("merge", str(a), str(b), "--out", str(out))
    assert r.code == 2
    assert f"v.x/2 ({a} and {b})" in r.err and "Traceback" not in r.err
    assert not out.exists()


def test_parts_of_different_suites_are_refused(cli: Cli, tmp_path: Path) -> None:
    a = part(tmp_path / "a.json", ["v.x/1"], content_hash="aaaa")
    b = part(tmp_path / "b.json", ["v.x/2"], content_hash="bbbb")
    r = cli("merge", str(a), str(b), "--out", str(tmp_path / "m.json"))
    assert r.code == 2
    assert f"{b} is from a different suite than {a}" in r.err


def test_mixed_schema_versions_are_refused(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    from attnbench.results import migrate

    a = part(tmp_path / "a.json", ["v.x/1"])
    b = part(tmp_path / "b.json", ["v.x/2"])
    data = json.loads(b.read_text())
    data["schema_version"] = "0.9.0"
    b.write_text(json.dumps(data))
    # pretend 0.9.0 is an older schema this attnbench migrates, so only the mix is wrong
    monkeypatch.setitem(migrate.MIGRATIONS, "0.9.0", ("1.0.0", lambda d: d))
    r = cli("merge", str(a), str(b), "--out", str(tmp_path / "m.json"))
    assert r.code == 2
    assert "mixed result schema versions" in r.err and str(a) in r.err and str(b) in r.err


def test_out_that_is_not_a_result_file_is_never_clobbered(cli: Cli, tmp_path: Path) -> None:
    a = part(tmp_path / "a.json", ["v.x/1"])
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    r = cli("merge", str(a), "--out", str(notes))
    assert r.code == 2 and "not an attnbench result file" in r.err
    assert notes.read_text() == "mine"
    r = cli("merge", str(a), "--out", str(tmp_path))
    assert r.code == 2 and "directory" in r.err
    r = cli("merge", str(a), "--out", str(a))
    assert r.code == 2 and "is an input of this run" in r.err


def test_existing_result_at_out_is_kept_aside(cli: Cli, tmp_path: Path) -> None:
    a = part(tmp_path / "a.json", ["v.x/1"])
    out = part(tmp_path / "m.json", ["v.x/9"])
    before = out.read_text()
    r = cli("merge", str(a), "--out", str(out))
    assert r.code == 0, r.err
    assert (tmp_path / "m.json.1.prev").read_text() == before
    assert [c.case_id for c in load_results(out).cases] == ["v.x/1"]


def test_missing_or_bad_part_exits_2(cli: Cli, tmp_path: Path) -> None:
    r = cli("merge", str(tmp_path / "nope.json"), "--out", str(tmp_path / "m.json"))
    assert r.code == 2 and "not found" in r.err
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    r = cli("merge", str(bad), "--out", str(tmp_path / "m.json"))
    assert r.code == 2 and "bad.json:1" in r.err
