"""Provenance: the GPU list as torch describes it (torch.cuda replaced at its boundary), the
software versions, and git's sha and dirty flag from a real repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from attnbench.results import environment as env


def _props(name: str, **extra: object) -> SimpleNamespace:
    return SimpleNamespace(
        name=name,
        total_memory=80 * 2**30,
        multi_processor_count=132,
        major=9,
        minor=0,
        **extra,
    )


def test_no_cuda_means_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: pytest.fail("not asked"))
    assert env.torch_gpus() == []


def test_every_visible_gpu_is_described(monkeypatch: pytest.MonkeyPatch) -> None:
    props = [
        _props("NVIDIA H100 80GB HBM3", uuid="GPU-1234", L2_cache_size=50 * 2**20),
        _props("NVIDIA H100 PCIe"),  # an older torch: no uuid, no L2 size
    ]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: props[i])
    assert env.torch_gpus() == [
        {
            "index": 0,
            "name": "NVIDIA H100 80GB HBM3",
            "uuid": "GPU-1234",
            "total_memory_bytes": 80 * 2**30,
            "sm_count": 132,
            "capability": "9.0",
            "l2_bytes": 50 * 2**20,
        },
        {
            "index": 1,
            "name": "NVIDIA H100 PCIe",
            "uuid": "",
            "total_memory_bytes": 80 * 2**30,
            "sm_count": 132,
            "capability": "9.0",
            "l2_bytes": 0,
        },
    ]


def test_a_null_l2_size_is_recorded_as_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(
        torch.cuda, "get_device_properties", lambda i: _props("g", L2_cache_size=None)
    )
    (gpu,) = env.torch_gpus()
    assert gpu["l2_bytes"] == 0


def test_software_reports_torch_and_a_broken_cudnn_as_absent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    got = env.software()
    assert got["torch"] == torch.__version__
    assert got["cuda"] == torch.version.cuda
    assert got["torch_cuda_available"] is torch.cuda.is_available()

    def broken() -> bool:
        raise RuntimeError("libcudnn missing")

    monkeypatch.setattr(torch.backends.cudnn, "is_available", broken)
    assert env.software()["cudnn"] is None
    monkeypatch.setattr(torch.backends.cudnn, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 90100)
    assert env.software()["cudnn"] == 90100


def test_collect_environment_holds_every_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(env, "torch_gpus", lambda: [{"index": 0}])
    monkeypatch.setattr(env, "cpu_model", lambda: "Test CPU 9000")
    got = env.collect_environment()
    assert got["cpu"]["model"] == "Test CPU 9000"
    assert got["cpu"]["torch_threads"] == torch.get_num_threads()
    assert got["gpus"] == [{"index": 0}]
    assert got["torch"] == torch.__version__
    assert {"host", "os", "machine", "python", "cuda", "cudnn"} <= set(got)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_info_reads_sha_and_dirty(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q")
    (tmp_path / "f.txt").write_text("1")
    git("add", "f.txt")
    git("commit", "-qm", "one")
    sha = git("rev-parse", "HEAD")
    assert env.git_info(str(tmp_path)) == {"sha": sha, "dirty": False}
    (tmp_path / "untracked.txt").write_text("u")  # untracked files do not count
    assert env.git_info(str(tmp_path)) == {"sha": sha, "dirty": False}
    (tmp_path / "f.txt").write_text("2")
    assert env.git_info(str(tmp_path)) == {"sha": sha, "dirty": True}


def test_git_info_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert env.git_info(str(tmp_path)) == {"sha": None, "dirty": None}
