"""``--version``, help placeholders, ``list`` parameters, ``check`` progress and summary."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Callable

import pytest
from rich.console import Console

import attnbench
from attnbench.cli import _common
from attnbench.cli.commands import COMMANDS
from tests.cli.conftest import CliResult

Cli = Callable[..., CliResult]


def test_version_flag() -> None:
    proc = subprocess.run([sys.executable, "-m", "attnbench", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"attnbench {attnbench.__version__}"


@pytest.mark.parametrize("name", [name for name, _ in COMMANDS])
def test_help_placeholders_have_no_python_types(cli: Cli, name: str) -> None:
    r = cli(name, "--help")
    assert r.code == 0
    assert not re.search(r"<(list|str|int|float|bool|path)\b[^>]*>\S*\s+\S", _options(r.out))
    assert "list[str]" not in r.out and "<text>" not in r.out and "<integer>" not in r.out


def _options(text: str) -> str:
    return text.split("Options:", 1)[-1]


def test_run_help_names_its_placeholders_and_says_value_is_yaml(cli: Cli) -> None:
    text = " ".join(cli("run", "--help").out.split())
    for flag in ("--out PATH", "--set KEY=VALUE", "-k, --keyword PATTERN", "--threads N",
                 "--variant NAME", "--shard K/N", "--max-cases N", "--plugin MODULE"):
        assert flag in text, flag
    assert "VALUE is YAML" in text
    assert "VALUE is YAML" in " ".join(cli("validate", "--help").out.split())


def test_top_help_lists_exit_code_130(cli: Cli) -> None:
    assert "130 interrupted" in " ".join(cli("--help").out.split())


def test_list_shows_parameter_descriptions_and_allowed_values(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    r = cli("list")
    assert r.code == 0
    row = next(line for line in r.out.splitlines()
               if "sinkhorn.naive" in line and " iters " in line)
    assert "int >= 1" in row and "Sinkhorn iterations" in row
    order = next(line for line in r.out.splitlines() if "alt.naive" in line and "order" in line
                 and "one of" in line)
    assert "one of auto, before, after" in order
    rows = json.loads(cli("list", "--json").out)
    spec = next(r for r in rows if r["name"] == "sinkhorn.naive")["param_specs"]["iters"]
    assert spec == {"default": 5, "type": "int",
                    "description": "Sinkhorn iterations (row, column, row, ...)",
                    "minimum": 1, "maximum": None, "choices": None, "allowed": "int >= 1"}


def test_check_prints_progress_on_stderr_and_a_summary(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = cli("check", "-v", "softmax.naive", "-v", "softmax.sdpa_cudnn")
    assert r.code == 0
    assert "check: softmax.naive (1/2 variants)" in r.err  # not a terminal: a line per variant
    assert "check: softmax.sdpa_cudnn (2/2 variants)" in r.err
    last = r.out.strip().splitlines()[-1]
    assert re.fullmatch(r"check: 2 variants, 8 cases: \d ok, 0 mismatches, \d skipped", last)
    # on a terminal the progress is a bar on stderr, and the table stays on stdout
    tty = Console(file=io.StringIO(), force_terminal=True, width=100)
    monkeypatch.setattr(_common, "_err", tty)
    r = cli("check", "-v", "softmax.naive")
    assert "check softmax.naive/" in tty.file.getvalue()  # type: ignore[attr-defined]
    assert "check softmax.naive/" not in r.out


def test_env_on_a_cpu_says_the_peak_table_is_for_gpus(cli: Cli) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    text = " ".join(cli("env").out.split())
    assert "GPUs only: a CPU has no peak-table entry" in text
