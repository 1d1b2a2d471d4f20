"""The CPU device: perf_counter_ns timing, allocator peaks and resident-set peaks.

Peak memory on CPU is measured two ways around one call:

* ``memory/peak_bytes`` — the torch CPU allocator's peak above the level at entry, from the
  profiler's allocation/free events (``profile_memory=True``). This is the CPU analogue of
  ``torch.cuda.max_memory_allocated`` and what kernels are compared on.
* ``memory/rss_peak_bytes`` — the process's resident set above the level at entry, from a
  sampling thread and, where Linux allows resetting it through ``/proc/self/clear_refs``, the
  kernel's high-water mark ``VmHWM``. glibc keeps freed blocks resident after warm-up, so RSS
  under-reports a kernel that reuses memory freed by an earlier call; it is kept for memory
  torch does not allocate.
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


def allocator_peak_bytes(prof: torch.profiler.profile) -> int:
    """Peak of live torch CPU allocations (bytes) above the level when ``prof`` started.

    Replays the profiler's ``[memory]`` events (positive for allocations, negative for frees)
    in time order and returns the highest running total.
    """
    results = prof.profiler.kineto_results if prof.profiler is not None else None
    if results is None:
        return 0
    events = [e for e in results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    live = peak = 0
    for e in events:
        live += int(e.nbytes())  # type: ignore[attr-defined]  # missing from torch's stubs
        peak = max(peak, live)
    return peak


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence file descriptor 2 briefly: kineto prints ``USDT:`` lines at profiler start/stop
    from C++, which no log-level variable turns off."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


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
        stats = MemoryStats(method="torch_cpu_allocator")
        rss0 = psutil.Process().memory_info().rss
        hwm_ok = _reset_vm_hwm()
        prof = torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True
        )
        with _quiet_native_stderr():
            prof.__enter__()  # type: ignore[no-untyped-call]
        try:
            with RssPeakSampler() as sampler:
                yield stats
        finally:
            with _quiet_native_stderr():
                prof.__exit__(None, None, None)  # type: ignore[no-untyped-call]
        rss_peak = sampler.max_rss
        if hwm_ok:
            hwm = _read_vm_hwm_bytes()
            if hwm is not None:
                rss_peak = max(rss_peak, hwm)
        stats.peak_bytes = allocator_peak_bytes(prof)
        stats.details = {
            "rss_peak_bytes": max(0, rss_peak - rss0),
            "rss_method": "rss_hwm" if hwm_ok else "rss_sampled",
            "rss_samples": sampler.samples,
            "baseline_rss_bytes": rss0,
        }

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
