"""``attnbench run`` end to end on the CPU: exit codes, JSON contents, resume."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from attnbench import Case, variants
from attnbench.results.store import load_results
from attnbench.runner import run_suite
from attnbench.suite import load_suite
from attnbench.variants.base import Inputs
from attnbench.variants.registry import _classes, _defaults
from attnbench.variants.softmax import SoftmaxNaive
from tests.cli.conftest import CliResult

Cli = Callable[..., CliResult]


def test_run_writes_a_complete_result_file(cli: Cli, tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = cli("run", str(tiny_suite), "--device", "cpu", "--out", str(out))
    assert r.code == 0, r.err
    data = json.loads(out.read_text())
    for key in ("schema_version", "attnbench_version", "created_utc", "suite", "environment",
                "git", "settings", "cases", "metric_catalog"):
        assert key in data
    assert data["suite"]["case_count"] == 8 == len(data["cases"])
    assert data["run"]["completed"] is True
    case = data["cases"][0]
    assert case["case_id"] == "softmax.naive/b1-h2-n32-d8-full-fp32-fwd"
    assert case["status"] == "ok" and case["samples"] and case["stop_reason"]
    assert case["metrics"]["time/median_ms"] > 0
    assert case["energy"]["method"] == "unavailable" and case["energy"]["reason"]
    assert data["metric_catalog"]["time/median_ms"] == {
        "unit": "ms", "direction": "lower",
        "description": "median device time per call (the headline)"}
    assert "8 ok, 0 skipped, 0 oom, 0 failed" in r.err
    assert "softmax.naive" in r.out  # the final table is on stdout


def test_existing_non_result_output_is_refused_untouched(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    out.write_text("precious")
    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--max-cases", "1", "-q")
    assert r.code == 2
    assert "is not an attnbench result file" in r.err
    assert out.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "tiny.yaml"]


def test_bad_suite_exits_2_with_location(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\naxes: {seq_lem: [1], head_dim: 8}\nvariants: [softmax]\n")
    r = cli("run", str(bad), "--device", "cpu")
    assert r.code == 2
    assert f"{bad}:3:8: unknown key 'seq_lem'" in r.err
    assert "did you mean 'seq_len'" in r.err
    assert "Traceback" not in r.err


def test_missing_cuda_exits_3(cli: Cli, tiny_suite: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    r = cli("run", str(tiny_suite), "--device", "cuda")
    assert r.code == 3
    assert "CUDA is not available" in r.err


def test_bad_arguments_exit_2(cli: Cli, tiny_suite: Path) -> None:
    assert cli("run", str(tiny_suite), "--device", "tpu").code == 2
    assert cli("run", str(tiny_suite), "--shard", "5/4").code == 2
    assert cli("run", str(tiny_suite), "--check", "maybe").code == 2
    r = cli("run", str(tiny_suite), "--variant", "softmax.flash")
    assert r.code == 2 and "did you mean" in r.err.lower()


class Broken(SoftmaxNaive):
    info = SoftmaxNaive.info.__class__(**{**SoftmaxNaive.info.__dict__,
                                         "name": "testonly.broken"})

    def forward(self, inputs: Inputs, case: Case) -> object:  # type: ignore[override]
        raise RuntimeError("kernel exploded")


@pytest.fixture
def broken_variant() -> object:
    variants.register(Broken)
    yield Broken
    _classes.pop("testonly.broken", None)
    _defaults.pop("testonly", None)


def test_failed_cases_exit_4_and_are_recorded(
    cli: Cli, tmp_path: Path, broken_variant: object
) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("version: 1\nname: b\naxes: {seq_len: [16], head_dim: 4}\n"
                     "variants: [testonly.broken, softmax.naive]\ncheck: off\n"
                     "timing: {warmup_ms: 1, min_samples: 2, min_time_ms: 1, max_time_s: 0.05}\n")
    out = tmp_path / "b.json"
    r = cli("run", str(suite), "-d", "cpu", "-o", str(out), "-q")
    assert r.code == 4
    run = load_results(out)
    assert [c.status for c in run.cases] == ["failed", "ok"]
    assert run.cases[0].reason == "RuntimeError: kernel exploded"


class StopAfter:
    """Progress sink that interrupts the run after ``n`` finished cases (like Ctrl-C)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def started(self, total: int, skipped_done: int) -> None:
        pass

    def case_started(self, case: Case) -> None:
        pass

    def case_finished(self, result: object) -> None:
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt


def test_interrupted_run_keeps_cases_and_resumes(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    suite = load_suite(tiny_suite)
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, "cpu", out=out, progress=StopAfter(3))
    partial = load_results(out)
    assert len(partial.cases) == 3 and partial.run["completed"] is False
    kept = {c.case_id: c.samples for c in partial.cases}

    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--resume")
    assert r.code == 0, r.err
    assert "resuming: 3 of 8 cases already done" in r.err
    full = load_results(out)
    assert len(full.cases) == 8 and full.run["completed"] is True
    for case_id, samples in kept.items():
        assert full.case(case_id).samples == samples  # type: ignore[union-attr]


def test_resume_refuses_a_different_suite(cli: Cli, tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--max-cases", "1").code == 0
    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--resume",
            "--set", "axes.heads=3")
    assert r.code == 2 and "written by a different suite" in r.err


def test_shards_partition_the_cases(tiny_suite: Path) -> None:
    suite = load_suite(tiny_suite)
    ids = [
        {c.case_id for c in run_suite(suite, "cpu", shard=(k, 3), check="off").cases}
        for k in (1, 2, 3)
    ]
    assert sum(len(s) for s in ids) == 8
    assert set.union(*ids) == {c.case_id for c in run_suite(suite, "cpu", check="off").cases}


def test_cuda_graph_on_cpu_is_recorded_not_silently_ignored(tiny_suite: Path) -> None:
    suite = load_suite(tiny_suite, ["timing.cuda_graph=true"])
    run = run_suite(suite, "cpu", max_cases=1, check="off")
    assert run.run["warnings"] == [
        "CUDA_GRAPH_UNAVAILABLE: timing.cuda_graph applies to CUDA devices only; "
        "samples on cpu are plain calls"
    ]


def test_cooldown_sleeps_between_cases_before_timing(
    tiny_suite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import attnbench.runner.core as runner

    slept: list[float] = []
    monkeypatch.setattr(runner, "_cooldown", lambda s: slept.append(s))
    suite = load_suite(tiny_suite, ["power.cooldown_s=0.25"])
    run_suite(suite, "cpu", max_cases=3, check="off")
    assert slept == [0.25, 0.25]  # between cases, not before the first


def test_resume_command_replays_the_users_arguments() -> None:
    from attnbench.cli.run import resume_command

    out = Path("results/smoke-1.json")
    assert resume_command(["run", "s.yaml", "--device", "cpu", "--set", "axes.heads=[2, 4]"],
                          out) == ("attnbench run s.yaml --device cpu --set 'axes.heads=[2, 4]' "
                                   "--out results/smoke-1.json --resume")
    assert resume_command(["run", "s.yaml", "-o", "r.json"], out) == (
        "attnbench run s.yaml -o r.json --resume")
