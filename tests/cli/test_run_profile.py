"""``attnbench run --profile`` end to end: traces beside the result file, referenced in it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import CliResult


@pytest.mark.slow
def test_run_profile_references_the_traces_from_the_result_file(
    cli: Callable[..., CliResult], tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    result = cli("run", str(tiny_suite), "--device", "cpu", "--out", str(out), "-q", "--profile",
                 "--variant", "softmax.naive", "--set", "axes.seq_len=[32]")
    assert result.code == 0, result.err
    doc = json.loads(out.read_text())
    assert len(doc["cases"]) == 2
    for case in doc["cases"]:
        trace = out.parent / case["profile"]["trace"]
        assert trace.parent == tmp_path / "r.profiles"
        assert json.loads(trace.read_text())["traceEvents"]
    assert "profiles: " in result.err


def test_run_profile_refuses_a_foreign_directory_before_running(
    cli: Callable[..., CliResult], tiny_suite: Path, tmp_path: Path
) -> None:
    (tmp_path / "r.profiles").mkdir()
    (tmp_path / "r.profiles" / "mine.txt").write_text("keep")
    result = cli("run", str(tiny_suite), "--device", "cpu", "--out", str(tmp_path / "r.json"),
                 "-q", "--profile")
    assert result.code == 2 and "not written by attnbench" in result.err
    assert not (tmp_path / "r.json").exists()
    assert (tmp_path / "r.profiles" / "mine.txt").read_text() == "keep"
