"""``validate``, ``list``, ``check``, ``--help`` and ``python -m attnbench``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from attnbench import variants
from tests.cli.conftest import CliResult

Cli = Callable[..., CliResult]


def test_validate_counts_cases(cli: Cli, tiny_suite: Path) -> None:
    r = cli("validate", str(tiny_suite))
    assert r.code == 0
    assert "valid, 8 cases" in r.out
    assert "softmax.naive" in r.out


def test_validate_bad_yaml_exits_2(cli: Cli, tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("version: 1\nname: [unclosed\n")
    r = cli("validate", str(p))
    assert r.code == 2 and str(p) in r.err and "Traceback" not in r.err


def test_list_json_names_every_variant(cli: Cli) -> None:
    r = cli("list", "--json")
    assert r.code == 0
    rows = json.loads(r.out)
    assert [row["name"] for row in rows] == variants.names()
    sdpa = next(row for row in rows if row["name"] == "softmax.sdpa")
    assert sdpa["default"] is True and sdpa["causal"] is True and sdpa["backward"] is True


def test_list_table(cli: Cli) -> None:
    r = cli("list")
    assert r.code == 0 and "softmax.sdpa *" in r.out


def test_check_passes_for_softmax(cli: Cli) -> None:
    r = cli("check", "--variant", "softmax.naive", "--variant", "softmax.streaming")
    assert r.code == 0, r.out
    assert r.out.count("ok") >= 8 and "MISMATCH" not in r.out


def test_check_unknown_variant_exits_2(cli: Cli) -> None:
    r = cli("check", "--variant", "softmx")
    assert r.code == 2 and "Did you mean 'softmax'?" in r.err
    assert "Known families: alt, cog" in r.err


def test_help_documents_exit_codes(cli: Cli) -> None:
    r = cli("--help")
    assert r.code == 0
    for word in ("run", "validate", "list", "show", "env", "check", "Exit codes"):
        assert word in r.out


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run([sys.executable, "-m", "attnbench", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Usage" in proc.stdout


def test_check_lists_backends_that_cannot_run_as_skipped(cli: Cli) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("on a CUDA machine cuDNN may run the case: this checks the CPU answer")
    r = cli("check", "--variant", "softmax.sdpa_cudnn")
    assert r.code == 0
    assert "skipped [1]" in r.out
    assert "[1] SDPA backend 'cudnn' cannot run this case on cpu" in r.out


def test_check_exits_1_on_a_mismatch(cli: Cli) -> None:
    import torch

    from attnbench import Case
    from attnbench.variants.base import Inputs
    from attnbench.variants.registry import _classes, _defaults
    from attnbench.variants.softmax import SoftmaxNaive

    class OffByOne(SoftmaxNaive):
        info = SoftmaxNaive.info.__class__(
            **{**SoftmaxNaive.info.__dict__, "name": "testonly.offbyone"})

        def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
            return super().forward(inputs, case) + 1

    variants.register(OffByOne)
    try:
        r = cli("check", "--variant", "testonly.offbyone")
    finally:
        _classes.pop("testonly.offbyone", None)
        _defaults.pop("testonly", None)
    assert r.code == 1
    assert "MISMATCH" in r.out
    assert "check: 1 variant, 4 cases: 0 ok, 4 mismatches, 0 skipped" in r.out


def test_check_falls_back_to_forward_where_backward_cannot_run(cli: Cli) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("FlexAttention has a backward on CUDA: this checks the CPU fallback")
    r = cli("check", "--variant", "softmax.flex")  # no FlexAttention backward on CPU
    assert r.code == 0, r.out
    assert "b1-h4-n127-d32-causal-fp32-fwd " in r.out and "fwd_bwd" not in r.out
