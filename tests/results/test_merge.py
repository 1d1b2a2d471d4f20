"""``merge_runs`` and its checks, without the CLI: what the merged run holds at its root and in
``run["parts"]``, and the exact refusal for each way parts fail to form one run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from attnbench.errors import InputError, ResultFileError
from attnbench.results.merge import (
    MAX_LISTED,
    MergePart,
    check_compatible,
    load_part,
    merge_runs,
    part_record,
)
from attnbench.results.schema import SCHEMA_VERSION, CaseResult, RunResult
from attnbench.results.store import save_results


def _run(
    ids: list[str],
    *,
    content_hash: str = "h1",
    host: str = "a",
    shard: str | None = None,
    completed: bool = True,
    created: str = "2026-01-02T00:00:00Z",
    extra: dict[str, Any] | None = None,
) -> RunResult:
    run = RunResult(
        suite={"name": "s", "content_hash": content_hash, "case_count": len(ids)},
        environment={"host": host},
        settings={"device": {"kind": "cpu", "name": host}},
        git={"sha": f"sha-{host}"},
        created_utc=created,
        attnbench_version="0.1.0",
        run={
            "shard": shard,
            "completed": completed,
            "rank": None,
            "argv": [f"run-{host}"],
            **(extra or {}),
        },
    )
    run.cases = [CaseResult(i, "v.x", {}, "ok", samples=[1.0]) for i in ids]
    return run


def _part(
    ids: list[str], source: str = "a.json", version: str = SCHEMA_VERSION, **kw: Any
) -> MergePart:
    return MergePart(source, _run(ids, **kw), version)


def test_merge_keeps_the_first_parts_provenance_and_every_case() -> None:
    a = _part(["v/1", "v/2"], "a.json", host="a", shard="1/2", created="2026-01-02T00:00:00Z")
    b = _part(["v/3"], "b.json", host="b", shard="2/2", created="2026-01-01T00:00:00Z")
    merged = merge_runs([a, b])
    assert [c.case_id for c in merged.cases] == ["v/1", "v/2", "v/3"]
    assert merged.suite == {"name": "s", "content_hash": "h1", "case_count": 3}
    assert merged.environment == {"host": "a"} and merged.git == {"sha": "sha-a"}
    assert merged.settings == a.run.settings
    assert merged.schema_version == a.run.schema_version
    assert merged.attnbench_version == "0.1.0"
    assert merged.created_utc == "2026-01-01T00:00:00Z"  # the earliest part
    assert merged.run["argv"] == ["run-a"]
    assert merged.run["completed"] is True and merged.run["shard"] is None
    assert merged.run["merged_utc"].endswith("Z") and "+" not in merged.run["merged_utc"]
    assert "lost_cases" not in merged.run and "warnings" not in merged.run
    assert [p["source"] for p in merged.run["parts"]] == ["a.json", "b.json"]


def test_case_count_falls_back_to_the_cases_a_part_holds() -> None:
    a, b = _part(["v/1", "v/2"]), _part(["v/3"], "b.json")
    del b.run.suite["case_count"]
    assert merge_runs([a, b]).suite["case_count"] == 3


def test_an_incomplete_part_makes_the_merge_incomplete() -> None:
    a, b = _part(["v/1"]), _part(["v/2"], "b.json", completed=False)
    assert merge_runs([a, b]).run["completed"] is False
    c = _part(["v/3"], "c.json")
    del c.run.run["completed"]
    assert merge_runs([_part(["v/1"]), c]).run["completed"] is False


def test_lost_cases_and_warnings_are_joined() -> None:
    a = _part(["v/1"], extra={"lost_cases": ["v/9"], "warnings": ["HOST_BUSY", "X"]})
    b = _part(["v/2"], "b.json", extra={"lost_cases": ["v/8"], "warnings": ["X", "Y"]})
    merged = merge_runs([a, b])
    assert merged.run["lost_cases"] == ["v/9", "v/8"]
    assert merged.run["warnings"] == ["HOST_BUSY", "X", "Y"]  # in order, once each


def test_part_record_fields() -> None:
    part = _part(["v/1", "v/2"], "a.json", host="a", shard="1/2", completed=False)
    part.run.run["rank"] = 3
    (rec,) = part_record(part)
    assert rec == {
        "source": "a.json",
        "rank": 3,
        "shard": "1/2",
        "created_utc": "2026-01-02T00:00:00Z",
        "completed": False,
        "attnbench_version": "0.1.0",
        "environment": {"host": "a"},
        "device": {"kind": "cpu", "name": "a"},
        "git": {"sha": "sha-a"},
        "case_ids": ["v/1", "v/2"],
    }


def test_a_merged_part_contributes_its_own_parts_as_copies() -> None:
    inner = [{"source": "x.json", "case_ids": ["v/1"]}, {"source": "y.json", "case_ids": ["v/2"]}]
    part = _part(["v/1", "v/2"], "m.json", extra={"parts": inner})
    records = part_record(part)
    assert records == inner
    records[0]["source"] = "changed"
    assert inner[0]["source"] == "x.json"
    # an empty list is not a merge: the part describes itself
    empty = _part(["v/1"], "e.json", extra={"parts": []})
    assert [r["source"] for r in part_record(empty)] == ["e.json"]


def test_no_parts() -> None:
    with pytest.raises(InputError) as err:
        check_compatible([])
    assert str(err.value) == "merge: no part files given"


def test_mixed_schema_versions_name_both_files() -> None:
    with pytest.raises(InputError) as err:
        check_compatible([_part(["v/1"], "a.json", "1.2"), _part(["v/2"], "b.json", "1.3")])
    assert str(err.value) == (
        "merge: mixed result schema versions: a.json has 1.2, b.json has 1.3; rerun the older "
        "part or merge parts of one attnbench version"
    )


def test_different_suites_name_both_files_and_hashes() -> None:
    a = _part(["v/1"], "a.json", content_hash="0123456789abcdefff")
    b = _part(["v/2"], "b.json", content_hash="fedcba9876543210ee")
    with pytest.raises(InputError) as err:
        check_compatible([a, b])
    assert str(err.value) == (
        "merge: b.json is from a different suite than a.json (content hash fedcba987654 vs "
        "0123456789ab); only parts of one suite (same file, same --set overrides) can be merged"
    )


def test_the_third_part_is_checked_too() -> None:
    parts = [
        _part(["v/1"], "a.json"),
        _part(["v/2"], "b.json"),
        _part(["v/3"], "c.json", content_hash="other"),
    ]
    with pytest.raises(InputError, match=r"c\.json is from a different suite"):
        check_compatible(parts)


def test_overlaps_are_listed_up_to_the_limit() -> None:
    ids = [f"v/{i}" for i in range(MAX_LISTED + 2)]
    with pytest.raises(InputError) as err:
        check_compatible([_part(ids, "a.json"), _part(["v/x", *ids], "b.json")])
    shown = "; ".join(f"{i} (a.json and b.json)" for i in ids[:MAX_LISTED])
    assert str(err.value) == (
        f"merge: {MAX_LISTED + 2} case(s) appear in more than one part: {shown}; and 2 more"
    )


def test_exactly_the_limit_has_no_more_clause() -> None:
    ids = [f"v/{i}" for i in range(MAX_LISTED)]
    with pytest.raises(InputError) as err:
        check_compatible([_part(ids, "a.json"), _part(ids, "b.json")])
    assert str(err.value).endswith("v/4 (a.json and b.json)")


def test_a_repeat_within_one_part_is_an_overlap() -> None:
    with pytest.raises(
        InputError,
        match=r"1 case\(s\) appear in more than one part: v/1 "
        r"\(a.json and a.json\)$",
    ):
        check_compatible([_part(["v/1", "v/1"], "a.json")])


def test_load_part_remembers_the_written_version(tmp_path: Path) -> None:
    path = save_results(_run(["v/1"]), tmp_path / "p.json")
    part = load_part(path)
    assert part.source == str(path) and part.schema_version == SCHEMA_VERSION
    assert [c.case_id for c in part.run.cases] == ["v/1"]
    doc = json.loads(path.read_text())
    del doc["schema_version"]
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultFileError):
        load_part(path)


def test_the_merged_run_exactly() -> None:
    a = _part(["v/1"], "a.json", host="a", shard="1/2", created="2026-01-03T00:00:00Z",
              extra={"lost_cases": ["v/9"]})  # fmt: skip
    a.run.metric_catalog = {"time/median_ms": {"unit": "ms"}}
    b = _part(["v/2"], "b.json", host="b", shard="2/2", extra={"warnings": ["HOST_BUSY"]})
    del b.run.run["argv"]
    merged = merge_runs([a, b])
    when = merged.run.pop("merged_utc")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", when), when
    assert merged.run == {
        "argv": ["run-a"],
        "completed": True,
        "shard": None,
        "parts": part_record(a) + part_record(b),
        "lost_cases": ["v/9"],
        "warnings": ["HOST_BUSY"],
    }
    assert merged.metric_catalog == {"time/median_ms": {"unit": "ms"}}
    assert (merged.created_utc, merged.schema_version) == ("2026-01-02T00:00:00Z", SCHEMA_VERSION)
    # the first part gives argv; without one the merge has none
    merged = merge_runs([b, a])
    assert merged.run["argv"] == []
    assert merged.suite == {"name": "s", "content_hash": "h1", "case_count": 2}


def test_a_part_that_cannot_be_reread_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_results(_run(["v/1"]), tmp_path / "p.json")
    real = Path.read_text

    def flaky(self: Path, *args: Any, **kwargs: Any) -> str:
        if self == path:
            raise OSError("I/O error")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", lambda self: real(self).encode())
    monkeypatch.setattr(Path, "read_text", flaky)
    with pytest.raises(ResultFileError) as err:
        load_part(path)
    assert str(err.value) == f"{path}: cannot read result file (I/O error)"


def test_the_suite_case_count_and_schema_version_come_from_the_parts() -> None:
    a, b = _part(["v/1"], "a.json"), _part(["v/2"], "b.json")
    a.run.suite["case_count"] = 10  # a shard of a bigger suite: the count the part was told
    a.run.schema_version = b.run.schema_version = "0.9.0"
    merged = merge_runs([a, b])
    assert merged.suite["case_count"] == 11
    assert merged.schema_version == "0.9.0"
    assert [rec["completed"] for rec in merged.run["parts"]] == [True, True]
