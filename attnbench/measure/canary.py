"""Machine-drift canary: a fixed reference kernel timed at the start, middle and end of a run.

The canary is torch's own ``scaled_dot_product_attention`` at a fixed shape on the run's
device (fp32 ``1 × 4 × 256 × 32`` on a CPU, fp16 ``4 × 16 × 2048 × 64`` on a GPU, no mask),
from fixed inputs. It is attention-shaped on purpose: it moves when the machine moves in the
ways attention kernels feel (clocks, and the cache and memory bandwidth other tenants take),
which a matrix product alone does not. On this project's shared CPU host a 192 × 192 matmul
canary stayed within 3% while every attention case of the run slowed by 27%, and the gate
called that a regression of every kernel. Nothing about the canary depends on attnbench's
variants (only on torch, whose version must match for any case to be compared), so when it
is slower in one run than in another, the machine got slower, not the kernels.
``attnbench gate`` compares the canaries of two runs and, when they moved beyond their own
noise, judges cases on canary-normalised ratios.

Each point is :data:`SAMPLES` samples of a block of calls calibrated to about
:data:`TARGET_SAMPLE_MS` of device time, after a short warm-up: tens of milliseconds per point.
Stored at ``run["canary"]`` of the result file::

    {"kernel": "sdpa", "shape": [1, 4, 256, 32], "dtype": "fp32", "flops": 33554432,
     "device": "cpu",
     "points": [{"phase": "start", "utc": "...", "calls_per_sample": 7,
                 "samples_ms": [0.31, ...]}, {"phase": "middle", ...}, {"phase": "end", ...}]}

Result files of attnbench 0.1.0 carry a ``matmul_fp32`` canary with a ``size``; the gate
compares only canaries of the same kernel, shape, dtype and device.

A point that could not be measured has ``"error"`` instead of samples (the run goes on).
This module never prints.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import torch

from attnbench.case import DTYPES as CASE_DTYPES
from attnbench.devices.base import Device
from attnbench.results.schema import RunResult

KERNEL = "sdpa"
SHAPES = {"cpu": (1, 4, 256, 32), "cuda": (4, 16, 2048, 64)}
"""Batch, heads, sequence length, head dim per device kind: a fraction of a millisecond."""
DTYPES = {"cpu": "fp32", "cuda": "fp16"}
"""Suite dtype name per device kind (torch's name from :data:`attnbench.case.DTYPES`)."""
SAMPLES = 15
TARGET_SAMPLE_MS = 2.0
WARMUP_CALLS = 3
_SEED = 1234


def _shape(device: Device) -> tuple[int, int, int, int]:
    return SHAPES.get(device.kind, SHAPES["cpu"])


def _dtype(device: Device) -> str:
    return DTYPES.get(device.kind, DTYPES["cpu"])


def flops(shape: tuple[int, int, int, int]) -> int:
    """FLOPs of one unmasked attention call: two ``N × N × D`` products per head, 2 each."""
    b, h, n, d = shape
    return 4 * b * h * n * n * d


def measure_point(device: Device, phase: str) -> dict[str, Any]:
    """Time the canary once on ``device``; a JSON-ready point (samples in ms per call)."""
    shape = _shape(device)
    dtype = getattr(torch, CASE_DTYPES[_dtype(device)])
    gen = torch.Generator().manual_seed(_SEED)
    # inputs that do not require grad: the call builds no autograd graph, and nothing but
    # the kernel is inside the timed block
    q, k, v = (torch.randn(shape, generator=gen).to(device.torch_device, dtype) for _ in "qkv")
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def call() -> object:
        return sdpa(q, k, v)

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
    shape = _shape(device)
    canary = run.run.setdefault(
        "canary",
        {
            "kernel": KERNEL,
            "shape": list(shape),
            "dtype": _dtype(device),
            "flops": flops(shape),
            "device": device.kind,
            "points": [],
        },
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
