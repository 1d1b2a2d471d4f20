"""The CPU device: timing blocks and resident-set peaks."""

from __future__ import annotations

import torch

from attnbench.devices import CpuDevice, get_device
from attnbench.errors import InputError


def test_time_block_counts_calls() -> None:
    dev = CpuDevice()
    calls = []
    block = dev.time_block(lambda: calls.append(1), 7)
    assert len(calls) == 7 and block.number == 7
    assert block.device_s == block.host_s >= 0


def test_memory_window_sees_a_large_temporary() -> None:
    dev = CpuDevice()
    size = 256 << 20  # 256 MiB, touched so it is resident
    with dev.memory_window() as mem:
        t = torch.ones(size // 4, dtype=torch.float32)
        del t
    assert mem.peak_bytes is not None
    assert mem.peak_bytes >= 0.9 * size
    assert mem.method in ("rss_hwm", "rss_sampled")


def test_device_specs() -> None:
    assert get_device("cpu").name == "cpu"
    assert CpuDevice().describe()["threads"] == torch.get_num_threads()
    for bad in ("gpu", "cuda:x", "cpu0"):
        try:
            get_device(bad)
        except InputError as exc:
            assert "expected auto, cpu, cuda or cuda:N" in str(exc)
        else:
            raise AssertionError(bad)
