"""Text from users, plugins and torch is printed as written (never as rich markup), and
reasons are whole when the output is not a terminal."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from attnbench.cli.progress import RichProgress
from attnbench.report.console import ratio_table, render_run
from attnbench.results.schema import CaseResult, RunResult
from tests.cli.conftest import CliResult
from tests.report.conftest import bad_case, ok_case

Cli = Callable[..., CliResult]

TORCH_OOM = (
    "[enforce fail at alloc_cpu.cpp:127] data. DefaultCPUAllocator: not enough memory: "
    "you tried to allocate 68719476736 bytes."
)
SHAPE = {"batch": 1, "heads": 16, "head_dim": 64, "head_dim_v": 64, "dtype": "bf16",
         "pass": "fwd"}


def console(terminal: bool, width: int = 100) -> Console:
    return Console(width=width, record=True, color_system=None, force_terminal=terminal,
                   highlight=False, file=io.StringIO())


def test_list_keeps_square_brackets(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    r = cli("list")
    assert r.code == 0
    assert "bias fused as extra head dims [q/sqrt(D), tau*xh].[k, xh], SDPA scale 1" in r.out


def test_progress_line_keeps_torch_text_and_is_whole_when_piped() -> None:
    case = CaseResult("softmax.naive/b1-h1-n65536-d64-full-fp32-fwd", "softmax.naive", {},
                      "oom", reason="host memory exhausted: " + TORCH_OOM + "\nsecond line")
    piped = console(terminal=False, width=60)
    RichProgress(piped).case_finished(case)
    text = piped.export_text()
    assert "[enforce fail at alloc_cpu.cpp:127]" in text
    assert "you tried to allocate 68719476736 bytes." in text and "second line" in text
    tty = console(terminal=True, width=60)
    RichProgress(tty).case_finished(case)
    line = next(x for x in tty.export_text().splitlines() if "oom" in x)
    assert len(line) <= 60 and line.endswith("…") and "second line" not in tty.export_text()


def _bracket_run() -> RunResult:
    params = {**SHAPE, "seq_len": 1024, "causal": False}
    return RunResult(
        suite={"name": "[bold]suite[/bold]"},
        environment={"torch": "2.13.0"},
        settings={},
        cases=[
            ok_case("softmax.sdpa", params, median_ms=1.0, flops=1e9, peak=1.0, err=0.0,
                    backend="[b]sdpa[/b]", joules=None),
            ok_case("plug.x", {**params, "mode": "[red]loud[/red]"}, median_ms=2.0, flops=1e9,
                    peak=1.0, err=0.0, backend="eager", joules=None),
            ok_case("plug.x", {**params, "mode": "[i]soft"}, median_ms=3.0, flops=1e9,
                    peak=1.0, err=0.0, backend="eager", joules=None),
            bad_case("plug.y", {**params, "seq_len": 65536}, "oom", TORCH_OOM),
        ],
    )


@pytest.mark.parametrize("terminal", [False, True])
def test_results_table_and_footnotes_keep_brackets(terminal: bool) -> None:
    out = console(terminal, width=200)
    render_run(_bracket_run(), out)
    text = out.export_text()
    assert "[bold]suite[/bold] on" in text
    assert "[b]sdpa[/b]" in text and "mode=[red]loud[/red]" in text
    assert "[1] oom: [enforce fail at alloc_cpu.cpp:127]" in text


def test_ratio_table_keeps_brackets() -> None:
    out = console(False, width=200)
    out.print(ratio_table(_bracket_run(), "softmax.sdpa"))
    text = out.export_text()
    assert "mode=[red]loud[/red]" in text and "mode=[i]soft" in text


def test_resume_note_keeps_brackets_in_paths(cli: Cli, tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "[x]" / "r.json"
    out.parent.mkdir()
    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--max-cases", "1", "-q")
    assert r.code == 0, r.err
    assert f"→ {out}" in r.err
