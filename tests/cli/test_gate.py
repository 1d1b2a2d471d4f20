"""``attnbench gate`` through the real entry point: exit codes, formats, bad files, real runs."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

import attnbench
from attnbench.compare.noise import MIN_CASES
from attnbench.results.schema import RunResult
from attnbench.results.store import load_results, save_results
from tests.cli.conftest import CliResult
from tests.compare.helpers import case, check_golden, run, samples, save

Cli = Callable[..., CliResult]
V = "softmax.naive"

REAL_SUITE = """\
version: 1
name: gate_tiny
dtype: fp32
pass: [fwd]
axes: {batch: 1, heads: 2, seq_len: [64, 128], head_dim: 16, causal: [false, true]}
variants: [softmax.naive, softmax.sdpa_math]
timing: {warmup_ms: 5, min_samples: 40, min_time_ms: 20, max_time_s: 0.5, target_rel_iqr: 0.02}
power: {enabled: off}
check: off
"""


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)


def _pair(tmp_path: Path, factor: float) -> tuple[Path, Path]:
    base = run(
        [
            case(V, 64, samples(1.0, 40, 0.02, 1)),
            case(V, 128, samples(2.0, 40, 0.02, 2)),
            case("softmax.sdpa", 64, samples(0.5, 40, 0.02, 3)),
        ]
    )
    cur = run(
        [
            case(V, 64, samples(1.0 * factor, 40, 0.02, 4)),
            case(V, 128, samples(2.0, 40, 0.02, 5)),
            case("softmax.sdpa", 64, samples(0.5 * 0.8, 40, 0.02, 6)),
        ],
        canary_seed=21,
    )
    return save(base, tmp_path / "base.json"), save(cur, tmp_path / "cur.json")


def test_exit_0_without_regression_and_never_1_on_improvement(cli: Cli, tmp_path: Path) -> None:
    base, cur = _pair(tmp_path, 1.0)
    result = cli("gate", str(base), str(cur))
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].startswith("gate PASS (exit 0): 0 slower")
    assert "- faster" in result.out  # the improved sdpa case, and still exit 0


def test_exit_1_names_the_regression(cli: Cli, tmp_path: Path) -> None:
    base, cur = _pair(tmp_path, 1.25)
    result = cli("gate", str(base), str(cur), "--format", "json")
    assert result.code == 1
    data = json.loads(result.out)
    assert data["exit_code"] == 1
    assert [c["case_id"] for c in data["cases"] if c["verdict"] == "slower"] == [
        f"{V}/b1-h2-n64-d8-full-fp32-fwd"
    ]
    assert cli("gate", str(base), str(cur), "--max-regression", "30%").code == 0
    assert cli("gate", str(base), str(cur), "--max-regression", "0.3").code == 0
    assert cli("gate", str(base), str(cur), "--floor-ms", "0.5").code == 0


def test_strict_fails_on_missing(cli: Cli, tmp_path: Path) -> None:
    base = save(run([case(V, 64, samples(1.0)), case(V, 128, samples(1.0))]), tmp_path / "b.json")
    cur = save(run([case(V, 64, samples(1.0, seed=9))]), tmp_path / "c.json")
    assert cli("gate", str(base), str(cur)).code == 0
    assert cli("gate", str(base), str(cur), "--strict").code == 1


def test_exit_3_for_another_device_unless_allowed(cli: Cli, tmp_path: Path) -> None:
    a = save(run([case(V, 64, samples(1.0))], device="CPU A"), tmp_path / "a.json")
    b = save(run([case(V, 64, samples(1.0, seed=2))], device="CPU B"), tmp_path / "b.json")
    result = cli("gate", str(a), str(b))
    assert result.code == 3 and "device model differs: CPU A vs CPU B" in result.err
    assert cli("gate", str(a), str(b), "--allow-different-device").code == 0


def test_exit_3_when_every_case_is_incomparable(cli: Cli, tmp_path: Path) -> None:
    a = save(run([case(V, 64, samples(1.0))]), tmp_path / "a.json")
    b = save(run([case(V, 64, samples(2.0), fingerprint="c" * 16)]), tmp_path / "b.json")
    result = cli("gate", str(a), str(b), "--format", "json")
    assert result.code == 3
    assert json.loads(result.out)["cases"][0]["verdict"] == "incomparable"


def _bad_files(tmp_path: Path, good: Path) -> dict[str, tuple[Path, str]]:
    text = good.read_text()
    trunc = tmp_path / "truncated.json"
    trunc.write_text(text[: len(text) // 2])
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\xffnot json at all")
    shaped = tmp_path / "shaped.json"
    shaped.write_text(json.dumps({"schema_version": "1.0.0", "cases": [17]}))
    samples_bad = tmp_path / "samples.json"
    data = json.loads(text)
    data["cases"][0]["samples"] = ["fast", 1.0]
    samples_bad.write_text(json.dumps(data))
    newer = tmp_path / "newer.json"
    data = json.loads(text)
    data["schema_version"] = "99.0.0"
    newer.write_text(json.dumps(data))
    return {
        "missing": (tmp_path / "absent.json", "not found"),
        "truncated": (trunc, "not valid JSON"),
        "garbage": (garbage, ""),
        "shaped": (shaped, "missing required key"),
        "samples": (samples_bad, "samples[0]"),
        "newer": (newer, "Upgrade attnbench"),
    }


@pytest.mark.parametrize("kind", ["missing", "truncated", "garbage", "shaped", "samples", "newer"])
@pytest.mark.parametrize("command", ["gate", "compare"])
def test_bad_result_files_exit_2_naming_the_file(
    cli: Cli, tmp_path: Path, kind: str, command: str
) -> None:
    good, _ = _pair(tmp_path, 1.0)
    bad, words = _bad_files(tmp_path, good)[kind]
    for args in ((str(good), str(bad)), (str(bad), str(good))):
        result = cli(command, *args)
        assert result.code == 2, (kind, result.err)
        assert str(bad) in result.err and words in result.err
        assert "Traceback" not in result.err


def test_bad_options_exit_2(cli: Cli, tmp_path: Path) -> None:
    base, cur = _pair(tmp_path, 1.0)
    bad = cli("gate", str(base), str(cur), "--max-regression", "5")
    assert bad.code == 2 and "ambiguous" in bad.err
    metric = cli("gate", str(base), str(cur), "--metric", "time/medain_ms")
    assert metric.code == 2 and "did you mean 'time/median_ms'" in metric.err
    policy = tmp_path / "gate.yaml"
    policy.write_text("version: 1\nrules:\n  - {variant: x, max_regresion: 5%}\n")
    result = cli("gate", str(base), str(cur), "--policy", str(policy))
    assert result.code == 2 and f"{policy}:3:18" in result.err
    assert "did you mean 'max_regression'" in result.err


def test_policy_file_changes_the_verdict(cli: Cli, tmp_path: Path) -> None:
    base, cur = _pair(tmp_path, 1.25)
    policy = tmp_path / "gate.yaml"
    policy.write_text("version: 1\nrules:\n  - {match: 'softmax.naive/*-n64-*', ignore: true}\n")
    assert cli("gate", str(base), str(cur), "--policy", str(policy)).code == 0


def test_markdown_csv_and_step_summary(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, cur = _pair(tmp_path, 1.25)
    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    md = cli("gate", str(base), str(cur), "--format", "markdown")
    assert md.code == 1
    assert md.out.startswith("### attnbench gate FAIL (exit 1)")
    assert "<details>" in md.out and "**Regressions (1)**" in md.out
    written = summary.read_text()
    assert written.startswith("previous step\n### attnbench gate FAIL")
    csv_out = cli("gate", str(base), str(cur), "--format", "csv")
    header = csv_out.out.splitlines()[0].split(",")
    assert header[:3] == ["case_id", "variant", "verdict"] and "p_adjusted" in header
    assert len(csv_out.out.splitlines()) == 4


def test_golden_table_and_markdown(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _pair(tmp_path, 1.25)
    table = cli("gate", "base.json", "cur.json", "--label", "main", "--label", "pr")
    assert table.code == 1
    check_golden("gate_120.txt", table.out)
    assert max(len(line) for line in table.out.splitlines()) <= 120
    md = cli("gate", "base.json", "cur.json", "--label", "main", "--label", "pr", "-f", "markdown")
    check_golden("gate.md", md.out)


def test_help_lists_exit_codes(cli: Cli) -> None:
    result = cli("gate", "--help")
    assert result.code == 0
    flat = " ".join(result.out.split())
    for text in (
        "0 no confirmed regression",
        "1 a confirmed regression",
        "2 bad input",
        "3 the runs cannot be compared",
    ):
        assert text in flat


# -- real runs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("real")
    suite_path = root / "suite.yaml"
    suite_path.write_text(REAL_SUITE)
    suite = attnbench.load_suite(str(suite_path))
    paths = (root / "a.json", root / "b.json")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # no thread-pool stalls on a host shared by many processes
    try:
        for path in paths:
            attnbench.run_suite(suite, device="cpu", out=path)
    finally:
        torch.set_num_threads(threads)
    return paths


@pytest.mark.slow
def test_two_real_runs_pass_and_carry_canaries(cli: Cli, real_runs: tuple[Path, Path]) -> None:
    a, b = real_runs
    for path in real_runs:
        loaded = load_results(path)
        phases = [p["phase"] for p in loaded.run["canary"]["points"]]
        units = {c.group or c.case_id for c in loaded.cases}  # what the run loop iterates
        assert phases == (["start", "middle", "end"] if len(units) > 2 else ["start", "end"])
    # This machine is shared by many processes; the statistics themselves are tested on
    # constructed samples. Here: real files, every case comparable, no false regression at a
    # threshold above the between-run swings of a loaded 2-core host.
    result = cli("gate", str(a), str(b), "--max-regression", "50%", "--format", "json")
    data = json.loads(result.out)
    assert result.code == 0, result.out
    assert data["counts"]["incomparable"] == 0 and data["counts"]["slower"] == 0
    assert data["drift"]["available"] is True


def _slowed_copy(path: Path, out: Path, factor: float) -> tuple[Path, list[str]]:
    """``path`` with the two least noisy ok cases' samples multiplied by ``factor``."""
    r = load_results(path)
    quiet = sorted(
        (c for c in r.cases if c.status == "ok"), key=lambda c: c.metrics["time/rel_iqr"]
    )[:2]
    assert len(quiet) == 2
    slowed: RunResult = copy.deepcopy(r)
    for c in slowed.cases:
        if c.case_id in {q.case_id for q in quiet}:
            c.samples = [s * factor for s in c.samples]
            c.metrics["time/median_ms"] *= factor
    save_results(slowed, out)
    return out, sorted(q.case_id for q in quiet)


@pytest.mark.slow
def test_slowed_copy_exits_1_naming_exactly_those_cases(
    cli: Cli, real_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = real_runs
    slow, chosen = _slowed_copy(a, tmp_path / "slow.json", 1.10)
    noisy = {c.case_id for c in load_results(a).cases if "HIGH_NOISE" in c.warnings}
    result = cli("gate", str(a), str(slow), "--format", "json")
    data = json.loads(result.out)
    verdict = {c["case_id"]: c for c in data["cases"]}
    # Exactly the slowed cases are called slower, however much the canary wandered within
    # the run (the copy has the same canary, and the unslowed cases show that nothing else
    # moved), except a slowed case the run flagged HIGH_NOISE, which cannot confirm a change.
    assert len(verdict) >= MIN_CASES  # enough cases for the common shift
    called = sorted(i for i, c in verdict.items() if c["verdict"] == "slower")
    assert called == [i for i in chosen if i not in noisy], data["run_noise"]
    for i in chosen:
        if i in noisy:  # not confirmed: flagged, or not even significant against its noise
            assert verdict[i]["verdict"] == "ambiguous", verdict[i]
            reason = verdict[i]["reason"]
            assert "HIGH_NOISE" in reason or "not significant" in reason, reason
    assert data["run_noise"]["shift_log"] == pytest.approx(0.0, abs=1e-12)
    for i, c in verdict.items():
        if i not in chosen:
            assert c["verdict"] in ("same", "ambiguous") and c["ratio"] == pytest.approx(1.0)
    assert result.code == (1 if called else 0), result.out


@pytest.mark.slow
def test_changed_fingerprints_are_incomparable(
    cli: Cli, real_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = real_runs
    r = load_results(a)
    r.cases[0].fingerprint = "0" * 16
    r.cases[0].samples = [s * 3 for s in r.cases[0].samples]
    changed = tmp_path / "changed.json"
    save_results(r, changed)
    data = json.loads(cli("gate", str(a), str(changed), "--format", "json").out)
    verdict = {c["case_id"]: c["verdict"] for c in data["cases"]}
    assert verdict[r.cases[0].case_id] == "incomparable"
    assert data["exit_code"] == 0


@pytest.mark.slow
def test_three_real_runs_compare_side_by_side(
    cli: Cli, real_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = real_runs
    slow, chosen = _slowed_copy(a, tmp_path / "slow.json", 1.10)
    result = cli(
        "compare",
        str(a),
        str(b),
        str(slow),
        "--label",
        "A",
        "--label",
        "B",
        "--label",
        "A+10%",
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert [r["label"] for r in data["runs"]] == ["A", "B", "A+10%"]
    for c in data["cases"]:
        third = c["runs"][2]["ratio"]
        assert c["runs"][0]["ratio"] is None
        assert third["ci_low"] <= third["ratio"] <= third["ci_high"]
        if c["case_id"] in chosen:
            assert third["ratio"] == pytest.approx(1.10, rel=1e-9)
    counts = {(g["variant"], g["run"]): g["count"] for g in data["geomean"]}
    assert counts[("softmax.naive", "A+10%")] == 4
    table = cli("compare", str(a), str(b), str(slow))
    assert table.code == 0 and "geomean softmax.naive" in table.out and "[" in table.out


def test_negative_floor_and_unwritable_step_summary(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, cur = _pair(tmp_path, 1.25)
    assert cli("gate", str(base), str(cur), "--floor-ms", "-1").code == 2
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path))  # a directory: cannot append
    result = cli("gate", str(base), str(cur))
    assert result.code == 1  # the verdict stands; the failed append is said, not hidden
    assert "could not append to $GITHUB_STEP_SUMMARY" in result.err
