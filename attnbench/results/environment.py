"""Provenance: what machine, software and source tree produced a run."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from typing import Any

import torch

from attnbench.devices.cpu import cpu_model


def software() -> dict[str, Any]:
    """Versions of Python, torch, CUDA and cuDNN as torch reports them."""
    cudnn = None
    try:
        if torch.backends.cudnn.is_available():  # type: ignore[no-untyped-call]
            cudnn = torch.backends.cudnn.version()  # type: ignore[no-untyped-call]
    except Exception:  # cudnn probing can raise on broken installs; record absence
        cudnn = None
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": cudnn,
        "torch_cuda_available": torch.cuda.is_available(),
    }


def torch_gpus() -> list[dict[str, Any]]:
    """Each visible CUDA device as torch describes it (empty without CUDA)."""
    if not torch.cuda.is_available():
        return []
    gpus = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        gpus.append(
            {
                "index": i,
                "name": p.name,
                "uuid": str(getattr(p, "uuid", "")),
                "total_memory_bytes": int(p.total_memory),
                "sm_count": int(p.multi_processor_count),
                "capability": f"{p.major}.{p.minor}",
                "l2_bytes": int(getattr(p, "L2_cache_size", 0) or 0),
            }
        )
    return gpus


def collect_environment() -> dict[str, Any]:
    """Host, OS, CPU, software and GPUs, JSON-ready."""
    return {
        "host": socket.gethostname(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu": {
            "model": cpu_model(),
            "logical_cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
        },
        **software(),
        "gpus": torch_gpus(),
    }


def git_info(cwd: str | None = None) -> dict[str, Any]:
    """``sha`` and ``dirty`` of the git tree at ``cwd`` (nulls outside a repository)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    sha = git("rev-parse", "HEAD")
    if not sha:
        return {"sha": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": bool(status) if status is not None else None}
