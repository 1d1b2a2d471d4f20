"""The CPU device: perf_counter_ns timing and resident-set peaks.

Peak memory on CPU is the process's resident set size (RSS) above the level at the start of
the window. Two sources are combined: a sampling thread reading RSS every ``period_s``, and —
where Linux allows resetting it through ``/proc/self/clear_refs`` — the kernel's own
high-water mark ``VmHWM``, which catches peaks shorter than the sampling period.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psutil
import torch

from attnbench.devices.base import BlockTime, Device, MemoryStats


def _read_vm_hwm_bytes() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_vm_hwm() -> bool:
    """Reset the kernel's peak-RSS counter to the current RSS; False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class RssPeakSampler:
    """Background thread recording the maximum RSS (bytes) seen while it runs."""

    def __init__(self, period_s: float = 0.001) -> None:
        self.period_s = period_s
        self.max_rss = 0
        self.samples = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._thread = threading.Thread(target=self._loop, name="attnbench-rss", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.max_rss = max(self.max_rss, self._proc.memory_info().rss)
            self.samples += 1
            self._stop.wait(self.period_s)

    def __enter__(self) -> RssPeakSampler:
        self.max_rss = self._proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.max_rss = max(self.max_rss, self._proc.memory_info().rss)


class CpuDevice(Device):
    """Host CPU. Time is ``perf_counter_ns`` around synchronous calls; no cache flush."""

    kind = "cpu"
    name = "cpu"

    def __init__(self, threads: int | None = None) -> None:
        if threads is not None:
            torch.set_num_threads(threads)
        self.threads = torch.get_num_threads()

    @property
    def torch_device(self) -> torch.device:
        return torch.device("cpu")

    def synchronize(self) -> None:
        """CPU kernels are synchronous: nothing to wait for."""

    def time_block(self, fn: Callable[[], object], number: int) -> BlockTime:
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        elapsed = (time.perf_counter_ns() - start) / 1e9
        return BlockTime(device_s=elapsed, host_s=elapsed, number=number)

    @contextmanager
    def memory_window(self) -> Iterator[MemoryStats]:
        stats = MemoryStats(method="rss")
        rss0 = psutil.Process().memory_info().rss
        hwm_ok = _reset_vm_hwm()
        with RssPeakSampler() as sampler:
            yield stats
        peak = sampler.max_rss
        if hwm_ok:
            hwm = _read_vm_hwm_bytes()
            if hwm is not None:
                peak = max(peak, hwm)
        stats.peak_bytes = max(0, peak - rss0)
        stats.method = "rss_hwm" if hwm_ok else "rss_sampled"
        stats.details = {"rss_samples": sampler.samples, "baseline_rss_bytes": rss0}

    def dtype_problem(self, dtype: str) -> str | None:
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "cpu",
            "name": cpu_model(),
            "threads": self.threads,
            "logical_cpus": os.cpu_count(),
        }


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, falling back to platform.processor()."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
