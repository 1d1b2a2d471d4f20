"""Machine-drift canary: a fixed reference kernel timed at the start, middle and end of a run.

The canary is an fp32 matrix product of a fixed size on the run's device (192 × 192 on a CPU,
2048 × 2048 on a GPU), from fixed inputs. Nothing about it depends on attnbench's variants,
so when the canary is slower in one run than in another, the machine got slower, not the
kernels. ``attnbench gate`` compares the canaries of two runs and, when they moved beyond
their own noise, judges cases on canary-normalised ratios.

Each point is :data:`SAMPLES` samples of a block of calls calibrated to about
:data:`TARGET_SAMPLE_MS` of device time, after a short warm-up: tens of milliseconds per point.
Stored at ``run["canary"]`` of the result file::

    {"kernel": "matmul_fp32", "size": 192, "flops": 14155776, "device": "cpu",
     "points": [{"phase": "start", "utc": "...", "calls_per_sample": 7,
                 "samples_ms": [0.31, ...]}, {"phase": "middle", ...}, {"phase": "end", ...}]}

A point that could not be measured has ``"error"`` instead of samples (the run goes on).
This module never prints.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import torch

from attnbench.devices.base import Device
from attnbench.results.schema import RunResult

KERNEL = "matmul_fp32"
SIZES = {"cpu": 192, "cuda": 2048}
"""Matrix size per device kind: about a third of a millisecond per call on either."""
SAMPLES = 15
TARGET_SAMPLE_MS = 2.0
WARMUP_CALLS = 3
_SEED = 1234


def _size(device: Device) -> int:
    return SIZES.get(device.kind, SIZES["cpu"])


def measure_point(device: Device, phase: str) -> dict[str, Any]:
    """Time the canary once on ``device``; a JSON-ready point (samples in ms per call)."""
    n = _size(device)
    gen = torch.Generator().manual_seed(_SEED)
    a = torch.randn(n, n, generator=gen).to(device.torch_device)
    b = torch.randn(n, n, generator=gen).to(device.torch_device)

    def call() -> object:
        return torch.mm(a, b)

    device.time_block(call, WARMUP_CALLS)
    one_ms = device.time_block(call, 1).device_s * 1e3
    number = max(1, math.ceil(TARGET_SAMPLE_MS / one_ms)) if one_ms > 0 else 1
    samples = [device.time_block(call, number).device_s * 1e3 / number for _ in range(SAMPLES)]
    return {
        "phase": phase,
        "utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "calls_per_sample": number,
        "samples_ms": samples,
    }


def record(run: RunResult, device: Device, phase: str) -> None:
    """Append a canary point for ``phase`` (``start`` | ``middle`` | ``end``) to ``run``.

    A failure to time the canary is stored as the point's ``error``; it never stops a run.
    """
    n = _size(device)
    canary = run.run.setdefault(
        "canary",
        {"kernel": KERNEL, "size": n, "flops": 2 * n**3, "device": device.kind, "points": []},
    )
    try:
        point = measure_point(device, phase)
    except Exception as exc:  # recorded, never fatal: the run's cases matter more
        point = {"phase": phase, "error": f"{type(exc).__name__}: {exc}"}
    canary["points"].append(point)


def tick(run: RunResult, device: Device, index: int, total: int) -> None:
    """Call before case ``index`` of ``total``: records ``start`` first, ``middle`` halfway."""
    if index == 0:
        record(run, device, "start")
    elif total > 2 and index == total // 2:
        record(run, device, "middle")


def finish(run: RunResult, device: Device) -> None:
    """Call after the last case: records the ``end`` point."""
    record(run, device, "end")
