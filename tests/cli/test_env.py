"""``attnbench env`` on this machine (CPU only, pynvml importable, no NVML library)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import torch
import typer
from typer.testing import CliRunner

from attnbench.cli.env import collect, env_command
from attnbench.measure import gpu_info, nvml
from tests.measure.fake_nvml import FakeNvml


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("env")(env_command)

    @app.callback()
    def main() -> None:
        """attnbench (test app)."""

    return app


def _nvml_works() -> bool:
    return bool(gpu_info.describe_gpus()["available"])


@pytest.mark.skipif(_nvml_works(), reason="a working NVML driver is present")
def test_env_table_on_cpu_machine_exits_0_and_says_why() -> None:
    result = CliRunner().invoke(_app(), ["env"])
    assert result.exit_code == 0, result.output
    assert "NVML library not found" in result.output
    assert "torch" in result.output
    if not torch.cuda.is_available():
        assert "no CUDA device" in result.output


@pytest.mark.skipif(_nvml_works(), reason="a working NVML driver is present")
def test_env_json() -> None:
    result = CliRunner().invoke(_app(), ["env", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["nvml"]["available"] is False
    assert data["nvml"]["code"] == "NVML_LIBRARY_NOT_FOUND"
    assert data["torch"] == torch.__version__
    assert "cpu_energy" in data
    assert data["attnbench"]


def test_collect_attaches_nvml_and_peaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvml, "_load_pynvml", lambda: FakeNvml())
    fake_gpu = {
        "index": 0,
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": "11111111-2222-3333-4444-555555555555",
        "total_memory_bytes": 80 * 2**30,
        "sm_count": 132,
        "capability": "9.0",
        "l2_bytes": 50 * 2**20,
    }
    import attnbench.cli.env as env_mod

    base: Callable[[], dict[str, object]] = env_mod.collect_environment
    monkeypatch.setattr(env_mod, "collect_environment", lambda: {**base(), "gpus": [fake_gpu]})
    data = collect()
    gpu = data["gpus"][0]
    assert gpu["nvml"]["power_limit_w"] == 700.0
    assert gpu["peak"]["key"] == "h100_sxm"
    result = CliRunner().invoke(_app(), ["env"])
    assert result.exit_code == 0, result.output
    assert "700 W" in result.output
    assert "H100 SXM5" in result.output
