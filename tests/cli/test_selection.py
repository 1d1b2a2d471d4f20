"""``run -k``, ``--max-cases`` and ``--threads``: what is run, what the file says about it,
and how a partial run is continued."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch

from attnbench.report.captions import rest_command
from tests.cli.conftest import CliResult

Cli = Callable[..., CliResult]


def test_k_selects_before_max_cases_and_marks_the_run_partial(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "-k", "causal and n47",
            "-k", "sdpa_math/*-n32-*-causal-*", "--max-cases", "2", "-q")
    assert r.code == 0, r.err
    data = json.loads(out.read_text())
    ids = [c["case_id"] for c in data["cases"]]
    # -k first (3 matches), then --max-cases keeps 2 of them
    matches = {"softmax.naive/b1-h2-n47-d8-causal-fp32-fwd",
               "softmax.sdpa_math/b1-h2-n47-d8-causal-fp32-fwd",
               "softmax.sdpa_math/b1-h2-n32-d8-causal-fp32-fwd"}
    assert len(ids) == 2 and set(ids) <= matches
    selection = data["run"]["selection"]
    assert selection["planned"] == 8 and selection["selected"] == 2 and selection["done"] == 2
    assert selection["partial"] is True and selection["max_cases"] == 2
    assert "partial: 2 of 8 planned" in r.out
    assert "partial run: 2 of 8 planned cases (--max-cases 2, -k 'causal and n47'" in r.err
    assert "run the rest with: attnbench run" in r.err and f"--out {out} --resume" in r.err

    shown = cli("show", str(out))
    assert shown.code == 0
    assert "partial: 2 of 8 planned" in shown.out
    assert f"--out {out} --resume" in shown.out

    rest = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--resume", "-q")
    assert rest.code == 0, rest.err
    whole = json.loads(out.read_text())
    assert len(whole["cases"]) == 8 and whole["run"]["selection"]["partial"] is False
    assert "partial run" not in cli("show", str(out)).out


def test_whole_run_is_not_partial(cli: Cli, tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "-q", "--threads", "1")
    assert r.code == 0, r.err
    data = json.loads(out.read_text())
    assert data["run"]["selection"]["partial"] is False
    assert data["run"]["selection"]["planned"] == data["run"]["selection"]["done"] == 8
    assert "partial run" not in r.out + r.err and "partial:" not in r.out


def test_k_without_a_match_exits_2_before_running(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "-k", "flash")
    assert r.code == 2
    assert "-k 'flash' matches none of the 8 cases" in r.err
    assert not out.exists()


def test_threads_are_set_recorded_and_restored(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    before = torch.get_num_threads()
    out = tmp_path / "r.json"
    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--threads", "1",
            "--max-cases", "1", "-q")
    assert r.code == 0, r.err
    data = json.loads(out.read_text())
    assert data["settings"]["cpu"]["threads"] == 1
    assert data["settings"]["cpu"]["threads_requested"] == 1
    assert data["environment"]["cpu"]["torch_threads"] == 1
    assert data["settings"]["device"]["threads"] == 1
    metrics = data["cases"][0]["metrics"]
    assert metrics["host/threads"] == 1.0
    assert {"host/invol_ctx_switches", "host/cpu_utilisation"} <= set(metrics)
    assert torch.get_num_threads() == before


def test_suite_cpu_threads_and_the_flag_overrides_it(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    suite = tmp_path / "threads.yaml"
    suite.write_text(tiny_suite.read_text() + "cpu: {threads: 1}\n")
    out = tmp_path / "r.json"
    assert cli("run", str(suite), "-d", "cpu", "-o", str(out), "--max-cases", "1", "-q").code == 0
    assert json.loads(out.read_text())["settings"]["cpu"]["threads"] == 1
    if torch.get_num_threads() >= 2:
        r = cli("run", str(suite), "-d", "cpu", "-o", str(out), "--max-cases", "1", "-q",
                "--threads", "2")
        assert r.code == 0
        assert json.loads(out.read_text())["settings"]["cpu"]["threads"] == 2


def test_bad_cpu_threads_in_a_suite_is_located(cli: Cli, tiny_suite: Path, tmp_path: Path) -> None:
    suite = tmp_path / "threads.yaml"
    suite.write_text(tiny_suite.read_text() + "cpu: {threads: 0}\n")
    r = cli("validate", str(suite))
    assert r.code == 2
    assert f"{suite}:9:16: cpu.threads must be a positive integer, got 0" in r.err
    suite.write_text(tiny_suite.read_text() + "cpu: {thread: 2}\n")
    r = cli("validate", str(suite))
    assert r.code == 2 and "unknown key 'thread' in cpu; did you mean 'threads'?" in r.err


def test_threads_flag_rejects_zero(cli: Cli, tiny_suite: Path) -> None:
    r = cli("run", str(tiny_suite), "--threads", "0")
    assert r.code == 2


def test_one_flush_setting_in_the_result(cli: Cli, tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--max-cases", "1",
               "-q").code == 0
    settings = json.loads(out.read_text())["settings"]
    assert "flush" not in settings
    assert settings["timing"]["flush"] == "none"  # what ran: a CPU has no cache flush


def test_resume_of_a_missing_file_says_it_starts_fresh(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "nothing-here.json"
    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--resume", "--max-cases", "1",
            "-q")
    assert r.code == 0
    assert f"--resume: {out} does not exist yet; starting a new run" in " ".join(r.err.split())


def test_rest_command_drops_the_selection_and_pins_out() -> None:
    args = ["run", "s.yaml", "-d", "cpu", "--max-cases", "3", "-k", "a b", "-kx",
            "--variant=cog", "-v", "softmax", "--max-cases=4", "--keyword", "y", "-o", "old.json"]
    assert rest_command(args, "new file.json") == (
        "attnbench run s.yaml -d cpu --out 'new file.json' --resume")
    assert rest_command(["run", "s.yaml", "--resume"], "r.json") == (
        "attnbench run s.yaml --out r.json --resume")


def test_resume_ignores_comments_and_refusal_says_what_changed(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    assert cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--max-cases", "1",
               "-q").code == 0
    tiny_suite.write_text("# a comment the user added\n" + tiny_suite.read_text() + "\n\n")
    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--resume", "--max-cases", "2",
            "-q")
    assert r.code == 0, r.err
    assert len(json.loads(out.read_text())["cases"]) == 2
    tiny_suite.write_text(tiny_suite.read_text().replace("seq_len: [32, 47]", "seq_len: [32]"))
    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--resume", "-q")
    assert r.code == 2
    assert "changed: axes.seq_len: [32, 47] -> [32]" in " ".join(r.err.split())


def test_threads_reach_an_isolated_worker(cli: Cli, tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--threads", "1", "--isolate",
            "--max-cases", "1", "-q")
    assert r.code == 0, r.err
    case = json.loads(out.read_text())["cases"][0]
    assert case["status"] == "ok" and case["metrics"]["host/threads"] == 1.0
