"""Devices: ``cpu`` and ``cuda:N`` behind one interface (:class:`Device`)."""

from __future__ import annotations

import re

import torch

from attnbench.devices.base import BlockTime, BlockTimer, Device, MemoryStats
from attnbench.devices.cpu import CpuDevice
from attnbench.errors import InputError

__all__ = ["BlockTime", "BlockTimer", "CpuDevice", "Device", "MemoryStats", "get_device"]

_SPEC = re.compile(r"^(auto|cpu|cuda(?::(\d+))?)$")


def resolve_spec(spec: str) -> str:
    """Turn ``auto`` into ``cuda:0`` or ``cpu``; validate the others (exit 2 on a typo)."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise InputError(f"unknown device {spec!r}: expected auto, cpu, cuda or cuda:N")
    if m.group(1) == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if m.group(1) == "cuda":
        return "cuda:0"
    return m.group(1)


def get_device(spec: str = "auto", *, flush: str = "cold", cuda_graph: bool = False) -> Device:
    """Build the device for ``spec`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

    Raises:
        InputError: malformed spec (exit 2).
        EnvironmentUnavailable: CUDA asked for but absent (exit 3).
    """
    resolved = resolve_spec(spec)
    if resolved == "cpu":
        return CpuDevice()
    from attnbench.devices.cuda import CudaDevice

    return CudaDevice(int(resolved.split(":")[1]), flush=flush, cuda_graph=cuda_graph)
