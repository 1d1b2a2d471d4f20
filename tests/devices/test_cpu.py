"""The CPU device: timing blocks and resident-set peaks."""

from __future__ import annotations

import time

import torch

from attnbench.devices import CpuDevice, get_device
from attnbench.errors import InputError


def test_time_block_counts_calls() -> None:
    dev = CpuDevice()
    calls = []
    block = dev.time_block(lambda: calls.append(1), 7)
    assert len(calls) == 7 and block.number == 7
    assert block.device_s == block.host_s >= 0


def test_time_block_measures_the_calls_it_runs() -> None:
    dev = CpuDevice()
    block = dev.time_block(lambda: time.sleep(0.002), 3)
    assert block.number == 3
    assert 0.006 <= block.device_s == block.host_s < 5.0  # three 2 ms sleeps, never less


def test_memory_window_sees_a_large_temporary() -> None:
    dev = CpuDevice()
    size = 256 << 20  # 256 MiB, touched so it is resident
    with dev.memory_window() as mem:
        t = torch.ones(size // 4, dtype=torch.float32)
        del t
    assert mem.method == "torch_cpu_allocator"
    assert mem.peak_bytes == size  # exactly the tensor's bytes
    assert mem.details["rss_peak_bytes"] >= 0.9 * size
    assert mem.details["rss_method"] in ("rss_hwm", "rss_sampled")


def test_allocator_peak_sees_reused_memory_and_ignores_earlier_tensors() -> None:
    dev = CpuDevice()
    keep = torch.ones(1 << 20)  # allocated before the window: not counted
    for _ in range(3):  # warm glibc so freed blocks stay resident (RSS would miss them)
        torch.ones(1 << 21).sum()
    with dev.memory_window() as mem:
        a = torch.ones(1 << 21)  # 8 MiB
        b = torch.ones(1 << 20)  # 4 MiB live together with a
        del a, b
        c = torch.ones(1 << 20)  # 4 MiB after they are freed
        del c
    assert mem.peak_bytes == (8 + 4) << 20
    del keep


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
