"""``run --profile``: real torch.profiler traces, the directory rules, the JSON references."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attnbench import variants
from attnbench.case import Case
from attnbench.devices import get_device
from attnbench.errors import InputError
from attnbench.measure.profile import (
    MARKER,
    PROFILE_CALLS,
    PROFILE_FAILED,
    attach_profile,
    prepare_profile_dir,
    profile_case,
    profile_dir_for,
    trace_stem,
)
from attnbench.results.schema import CaseResult

CASE = Case(batch=1, heads=2, seq_len=32, head_dim=8, causal=False, dtype="fp32", params={})


def test_names() -> None:
    assert profile_dir_for(Path("results/run.json")) == Path("results/run.profiles")
    assert trace_stem("softmax.naive/b1-h2-n32-d8-full-fp32-fwd") == (
        "softmax.naive__b1-h2-n32-d8-full-fp32-fwd"
    )
    assert trace_stem("sinkhorn/b1 n8 iters=5:x") == "sinkhorn__b1_n8_iters=5_x"


def test_profile_case_writes_a_chrome_trace_and_an_operator_table(tmp_path: Path) -> None:
    directory = tmp_path / "r.profiles"
    prepare_profile_dir(directory, resume=False)
    entry = profile_case(variants.get("softmax.naive"), CASE, get_device("cpu"), directory, 0,
                         tmp_path)
    trace = json.loads((tmp_path / entry["trace"]).read_text())
    names = [e.get("name") for e in trace["traceEvents"]]
    assert names.count("attnbench.call") == PROFILE_CALLS
    assert "aten::softmax" in names or "aten::_softmax" in names
    assert entry["trace"] == f"r.profiles/{trace_stem(CASE.case_id)}.trace.json"
    assert "Self CPU" in (tmp_path / entry["table"]).read_text()
    ops = entry["top_ops"]
    assert ops and all(set(op) == {"name", "calls", "self_ms", "total_ms"} for op in ops)
    assert [op["self_ms"] for op in ops] == sorted((op["self_ms"] for op in ops), reverse=True)
    assert any(op["name"] == "aten::bmm" or op["name"] == "aten::matmul" for op in ops)


def test_only_ok_cases_are_profiled_and_failures_are_recorded(tmp_path: Path) -> None:
    skipped = CaseResult(CASE.case_id, "softmax.naive", {}, "skipped")
    attach_profile(skipped, variants.get("softmax.naive"), CASE, get_device("cpu"), 0,
                   tmp_path, tmp_path)
    assert skipped.profile is None
    ok = CaseResult(CASE.case_id, "softmax.naive", {}, "ok")
    attach_profile(ok, variants.get("softmax.naive"), CASE, get_device("cpu"), 0,
                   tmp_path / "missing" / "dir", tmp_path)
    assert ok.profile is not None and ok.profile["error"].startswith("FileNotFoundError")
    assert ok.warnings == [PROFILE_FAILED] and ok.status == "ok"


def test_directory_rules(tmp_path: Path) -> None:
    a_file = tmp_path / "r.profiles"
    a_file.write_text("mine")
    with pytest.raises(InputError, match="is not a directory"):
        prepare_profile_dir(a_file, resume=False)
    assert a_file.read_text() == "mine"
    foreign = tmp_path / "f.profiles"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not written by attnbench"):
        prepare_profile_dir(foreign, resume=False)
    empty = tmp_path / "e.profiles"
    empty.mkdir()
    assert prepare_profile_dir(empty, resume=False) is None and (empty / MARKER).is_file()


def test_an_earlier_profile_directory_is_kept_aside_unless_resuming(tmp_path: Path) -> None:
    directory = tmp_path / "r.profiles"
    prepare_profile_dir(directory, resume=False)
    (directory / "old.trace.json").write_text("{}")
    assert prepare_profile_dir(directory, resume=True) is None
    assert (directory / "old.trace.json").exists()  # resuming keeps adding to it
    moved = prepare_profile_dir(directory, resume=False)
    assert moved == tmp_path / "r.profiles.prev"
    assert (moved / "old.trace.json").exists() and not (directory / "old.trace.json").exists()
    (tmp_path / "r.profiles.prev" / MARKER).unlink()  # a .prev that is not ours blocks it
    with pytest.raises(InputError, match="in the way"):
        prepare_profile_dir(directory, resume=False)
