"""The result file's lifecycle: durable atomic saves, version refusal, resume semantics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from attnbench.case import Case
from attnbench.errors import ResultFileError
from attnbench.results.schema import SCHEMA_VERSION, CaseResult, RunResult
from attnbench.results.store import load_results, save_results
from attnbench.runner import run_suite
from attnbench.suite.loader import load_suite

SUITE = """\
version: 1
name: life
dtype: fp32
pass: [fwd]
axes: {batch: 1, heads: 1, seq_len: [16, 24, 32], head_dim: 8, causal: false}
variants: [softmax.naive]
timing: {warmup_ms: 0.5, min_samples: 2, min_time_ms: 0.1, max_time_s: 0.05, target_rel_iqr: 0.9}
power: {enabled: off}
check: off
"""


def _run() -> RunResult:
    run = RunResult(suite={"name": "t"}, environment={}, settings={})
    run.cases.append(CaseResult("a/b", "a.b", {}, "ok", samples=[1.0]))
    return run


def test_atomic_save_fsyncs_the_data_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def spy_fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def spy_replace(src: str, dst: str) -> None:
        events.append(("replace", f"{src} -> {dst}"))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    target = tmp_path / "r.json"
    save_results(_run(), target)
    kinds = [k for k, _ in events]
    assert "fsync" in kinds and "replace" in kinds
    first_fsync, replace = kinds.index("fsync"), kinds.index("replace")
    assert first_fsync < replace, events
    tmp_written = events[first_fsync][1]
    src, dst = events[replace][1].split(" -> ")
    assert os.path.realpath(src) == tmp_written  # the file made durable is the one renamed
    assert Path(dst) == target and Path(src).parent == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no temporary left
    assert load_results(target).cases[0].case_id == "a/b"


def _bumped(part: int) -> str:
    nums = [int(x) for x in SCHEMA_VERSION.split(".")]
    nums[part] += 1
    for later in range(part + 1, 3):
        nums[later] = 0
    return ".".join(map(str, nums))


@pytest.mark.parametrize("part", [0, 1], ids=["major", "minor"])
def test_newer_schema_is_refused_with_the_upgrade_hint(tmp_path: Path, part: int) -> None:
    data = _run().to_dict()
    data["schema_version"] = _bumped(part)
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultFileError) as info:
        load_results(path)
    message = str(info.value)
    assert str(path) in message and _bumped(part) in message
    assert "Upgrade attnbench" in message


class Recorder:
    """Progress sink that lists the case ids the runner starts."""

    def __init__(self) -> None:
        self.started_ids: list[str] = []

    def started(self, total: int, skipped_done: int) -> None:
        pass

    def case_started(self, case: Case) -> None:
        self.started_ids.append(case.case_id)

    def case_finished(self, result: CaseResult) -> None:
        pass


def test_resume_reruns_failed_cases_and_keeps_the_others(tmp_path: Path) -> None:
    suite_path = tmp_path / "life.yaml"
    suite_path.write_text(SUITE)
    suite = load_suite(suite_path)
    out = tmp_path / "r.json"
    first = run_suite(suite, "cpu", out=out)
    assert [c.status for c in first.cases] == ["ok", "ok", "ok"]
    data = json.loads(out.read_text())
    failed_id = data["cases"][1]["case_id"]
    data["cases"][1]["status"] = "failed"
    data["cases"][1]["reason"] = "RuntimeError: planted"
    kept = {c["case_id"]: c["samples"] for c in data["cases"] if c["case_id"] != failed_id}
    out.write_text(json.dumps(data))

    sink = Recorder()
    resumed = run_suite(suite, "cpu", out=out, resume=True, progress=sink)
    assert sink.started_ids == [failed_id]
    assert {c.case_id: c.status for c in resumed.cases} == {
        c["case_id"]: "ok" for c in data["cases"]
    }
    on_disk = load_results(out)
    for case_id, samples in kept.items():
        got = on_disk.case(case_id)
        assert got is not None and got.samples == samples  # finished cases are not re-measured
