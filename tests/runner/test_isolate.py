"""``run --isolate``: real crashing, hanging and killed processes cost only their own case."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from attnbench.results.store import load_results
from attnbench.runner.isolate import _death, signal_name
from tests.cli.conftest import CliResult
from tests.runner.conftest import CRASHY

Cli = Callable[..., CliResult]
pytestmark = pytest.mark.slow

SUITE = """\
version: 1
name: crashy
axes: {{batch: 1, heads: 1, seq_len: [16], head_dim: 8}}
variants: [{variants}]
timing: {{warmup_ms: 1, min_samples: 3, min_time_ms: 1, max_time_s: 0.05, target_rel_iqr: 0.5}}
power: {{enabled: off}}
"""


def _suite(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "crashy.yaml"
    path.write_text(SUITE.format(variants=", ".join(names)))
    return path


def _statuses(out: Path) -> dict[str, tuple[str, str]]:
    return {c.variant: (c.status, c.reason) for c in load_results(out).cases}


def test_a_segfault_costs_only_its_case(cli: Cli, tmp_path: Path) -> None:
    suite = _suite(tmp_path, "softmax.naive", "crashy.segv", "crashy.abort", "softmax.sdpa_math")
    out = tmp_path / "r.json"
    r = cli("run", str(suite), "-d", "cpu", "-o", str(out), "-q", "--isolate",
            "--plugin", CRASHY)
    assert r.code == 4, r.err
    got = _statuses(out)
    assert got["softmax.naive"][0] == "ok" and got["softmax.sdpa_math"][0] == "ok"
    assert got["crashy.segv"] == (
        "failed", "the isolated worker died of SIGSEGV (signal 11) in this case")
    assert got["crashy.abort"] == (
        "failed", "the isolated worker died of SIGABRT (signal 6) in this case")
    assert "2 ok, 0 skipped, 0 oom, 2 failed" in r.err


def test_a_hang_past_the_timeout_is_killed(cli: Cli, tmp_path: Path) -> None:
    suite = _suite(tmp_path, "crashy.hang", "softmax.naive")
    out = tmp_path / "r.json"
    started = time.monotonic()
    r = cli("run", str(suite), "-d", "cpu", "-o", str(out), "-q", "--case-timeout", "8",
            "--plugin", CRASHY)
    assert r.code == 4, r.err
    assert time.monotonic() - started < 300  # killed: nowhere near the 600 s sleep
    got = _statuses(out)
    assert got["crashy.hang"] == ("failed", "timed out after 8 s (the isolated worker was killed)")
    assert got["softmax.naive"][0] == "ok"


def test_isolated_results_match_the_in_process_shape(cli: Cli, tmp_path: Path) -> None:
    suite = _suite(tmp_path, "softmax.naive")
    out = tmp_path / "r.json"
    assert cli("run", str(suite), "-d", "cpu", "-o", str(out), "-q", "--isolate").code == 0
    case = load_results(out).cases[0]
    assert case.status == "ok" and len(case.samples) >= 3 and case.fingerprint
    assert case.check is not None and case.check["passed"] is True


def test_death_reasons() -> None:
    assert signal_name(11) == "SIGSEGV" and signal_name(999) == "signal 999"
    assert _death(-signal.SIGKILL, False, None)[0] == "oom"
    assert "killed by SIGKILL" in _death(-signal.SIGKILL, False, None)[1]
    assert _death(-signal.SIGKILL, True, 1.5) == (
        "failed", "timed out after 1.5 s (the isolated worker was killed)")
    assert _death(3, False, None) == (
        "failed", "the isolated worker exited with code 3 in this case")


KILL_SUITE = """\
version: 1
name: killme
axes: {batch: 1, heads: 2, seq_len: [32, 48, 64, 80, 96, 112], head_dim: 8}
variants: [softmax.naive, softmax.sdpa_math]
timing: {warmup_ms: 1, min_samples: 5, min_time_ms: 300, max_time_s: 0.4, target_rel_iqr: 0.0001,
         interleave: false}  # a kill then costs exactly the case in flight (else its group)
power: {enabled: off}
"""


def test_sigkill_then_resume_loses_and_repeats_nothing(tmp_path: Path) -> None:
    suite = tmp_path / "killme.yaml"
    suite.write_text(KILL_SUITE)
    out = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "attnbench", "run", str(suite), "-d", "cpu", "-o", str(out),
           "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    done_before: dict[str, list[float]] = {}
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists():
            data = json.loads(out.read_text())
            if len(data["cases"]) >= 3:
                proc.send_signal(signal.SIGKILL)
                break
        time.sleep(0.05)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    before = load_results(out)
    assert before.run["completed"] is False and 3 <= len(before.cases) < 12
    done_before = {c.case_id: c.samples for c in before.cases}
    assert (tmp_path / "r.json.lock").exists()  # left behind by the killed run
    resumed = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    after = load_results(out)
    ids = [c.case_id for c in after.cases]
    assert len(ids) == len(set(ids)) == 12  # nothing repeated, nothing missing
    assert all(c.status == "ok" for c in after.cases)
    for case_id, samples in done_before.items():  # nothing measured before was lost or redone
        assert after.case(case_id) is not None
        assert after.case(case_id).samples == samples  # type: ignore[union-attr]
    assert after.run["completed"] is True
    assert not (tmp_path / "r.json.lock").exists()
    assert not list(tmp_path.glob("r.json.*.prev"))



def test_a_crash_inside_a_job_reruns_the_rest_without_the_crashing_member() -> None:
    from attnbench import Case, variants
    from attnbench.measure.bench import BenchSettings
    from attnbench.runner.isolate import WorkerSpec, run_isolated
    from attnbench.suite.schema import PowerSettings, TimingSettings

    variants.load_module(CRASHY)
    shape = {"batch": 1, "heads": 1, "seq_len": 16, "head_dim": 8, "causal": False,
             "dtype": "fp32", "params": {}}
    job = [Case(**shape, variant=v)  # type: ignore[arg-type]
           for v in ("softmax.naive", "crashy.segv", "softmax.sdpa_math")]
    timing = TimingSettings(warmup_ms=1, min_samples=3, min_time_ms=1, max_time_s=0.05,
                            target_rel_iqr=0.5)
    spec = WorkerSpec("cpu", "cold", False, BenchSettings(timing), PowerSettings(enabled="off"),
                      plugins=(CRASHY,))
    results = run_isolated(job, spec)
    assert [r.case_id for r in results] == [c.case_id for c in job]
    assert [r.status for r in results] == ["ok", "failed", "ok"]
    assert "SIGSEGV" in results[1].reason and results[1].fingerprint


def test_a_plugin_that_cannot_be_imported_fails_the_job_with_the_reason() -> None:
    from attnbench import Case
    from attnbench.measure.bench import BenchSettings
    from attnbench.runner.isolate import WorkerSpec, run_isolated
    from attnbench.suite.schema import PowerSettings, TimingSettings

    case = Case(batch=1, heads=1, seq_len=16, head_dim=8, causal=False, dtype="fp32",
                params={}, variant="softmax.naive")
    spec = WorkerSpec("cpu", "cold", False, BenchSettings(TimingSettings()),
                      PowerSettings(enabled="off"), plugins=("no_such_plugin_module",))
    [result] = run_isolated([case], spec)
    assert result.status == "failed"
    assert result.reason.startswith("the isolated worker could not start: InputError: cannot "
                                    "import plugin module 'no_such_plugin_module'")


def test_plugin_option_on_validate_list_and_check(cli: Cli, tmp_path: Path) -> None:
    suite = _suite(tmp_path, "crashy.hang")
    assert cli("validate", str(suite)).code == 2  # unknown without the plugin
    r = cli("validate", str(suite), "--plugin", CRASHY)
    assert r.code == 0 and "valid, 1 cases" in r.out
    r = cli("list", "--json", "--plugin", CRASHY)
    assert r.code == 0 and "crashy.segv" in r.out
    r = cli("check", "--plugin", "no_such_plugin_module")
    assert r.code == 2 and "cannot import plugin module 'no_such_plugin_module'" in r.err
