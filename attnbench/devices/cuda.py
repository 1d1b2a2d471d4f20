"""The CUDA device: events on the current stream, cold-L2 flush, allocator peaks.

Written against torch's documented CUDA API (see ``reference/gpu-checklist.md``); on a
machine without CUDA it is never constructed. Timing follows nvbench's cold mode by default:
before every sample a buffer of twice the L2 size is zeroed *outside* the timed events, and
each sample is a single call. ``hot`` mode skips the flush and lets samples batch calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from attnbench.devices.base import BlockTime, Device, MemoryStats
from attnbench.errors import EnvironmentUnavailable, UnsupportedCase


class CudaDevice(Device):
    """One CUDA GPU, ``cuda:index``."""

    kind = "cuda"

    def __init__(self, index: int = 0, flush: str = "cold", cuda_graph: bool = False) -> None:
        if not torch.cuda.is_available():
            raise EnvironmentUnavailable(
                "CUDA is not available: torch "
                f"{torch.__version__} was built without CUDA or no GPU/driver is visible. "
                "Use --device cpu, or install a CUDA build of torch."
            )
        count = torch.cuda.device_count()
        if index >= count:
            raise EnvironmentUnavailable(
                f"cuda:{index} does not exist: {count} CUDA device(s) visible "
                "(check CUDA_VISIBLE_DEVICES)"
            )
        self.index = index
        self.name = f"cuda:{index}"
        self.flush = flush
        self.cuda_graph = cuda_graph
        self.props = torch.cuda.get_device_properties(index)
        self.l2_bytes = int(getattr(self.props, "L2_cache_size", 0) or 0)
        self._flush_buf: torch.Tensor | None = None
        self._graphs: dict[Callable[[], object], Callable[[], object]] = {}
        self._start = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        self._end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]

    @property
    def torch_device(self) -> torch.device:
        return torch.device("cuda", self.index)

    @property
    def flush_mode(self) -> str:
        return self.flush

    @property
    def per_sample_calls_fixed(self) -> bool:
        return self.flush == "cold"

    def synchronize(self) -> None:
        torch.cuda.synchronize(self.index)

    def prepare_sample(self) -> None:
        """Zero a 2×L2 buffer (allocated once) so the next sample starts with a cold L2."""
        if self.flush != "cold":
            return
        if self._flush_buf is None:
            size = max(2 * self.l2_bytes, 8 << 20)
            self._flush_buf = torch.empty(size, dtype=torch.int8, device=self.torch_device)
        self._flush_buf.zero_()

    def _replay_of(self, fn: Callable[[], object]) -> Callable[[], object]:
        """The CUDA-graph replay of ``fn``, captured on first use (``cuda_graph`` mode).

        Capture follows torch's recipe: a few eager calls on a side stream (allocator and
        library warm-up), then one captured call; the inputs ``fn`` closes over are static.
        A kernel that cannot be captured (host sync, dynamic shapes) makes the case skipped.
        """
        if fn in self._graphs:
            return self._graphs[fn]
        side = torch.cuda.Stream(self.index)  # type: ignore[no-untyped-call]
        side.wait_stream(torch.cuda.current_stream(self.index))
        try:
            with torch.cuda.stream(side):
                for _ in range(3):
                    fn()
            torch.cuda.current_stream(self.index).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                fn()
        except RuntimeError as exc:
            raise UnsupportedCase(f"CUDA graph capture failed: {exc}") from exc
        self._graphs[fn] = graph.replay
        return graph.replay

    def time_block(self, fn: Callable[[], object], number: int) -> BlockTime:
        empty_block = getattr(fn, "__name__", "") == "_noop"  # the overhead probe
        call = self._replay_of(fn) if self.cuda_graph and not empty_block else fn
        stream = torch.cuda.current_stream(self.index)
        self.synchronize()
        host0 = time.perf_counter_ns()
        self._start.record(stream)
        for _ in range(number):
            call()
        self._end.record(stream)
        self.synchronize()
        host = (time.perf_counter_ns() - host0) / 1e9
        device = self._start.elapsed_time(self._end) / 1e3
        return BlockTime(device_s=device, host_s=host, number=number)

    @contextmanager
    def memory_window(self) -> Iterator[MemoryStats]:
        stats = MemoryStats(method="cuda_allocator")
        self.synchronize()
        torch.cuda.reset_peak_memory_stats(self.index)
        base_alloc = torch.cuda.memory_allocated(self.index)
        base_reserved = torch.cuda.memory_reserved(self.index)
        yield stats
        self.synchronize()
        stats.peak_bytes = max(0, torch.cuda.max_memory_allocated(self.index) - base_alloc)
        stats.peak_reserved_bytes = max(
            0, torch.cuda.max_memory_reserved(self.index) - base_reserved
        )
        stats.details = {"baseline_allocated_bytes": base_alloc}

    def dtype_problem(self, dtype: str) -> str | None:
        if dtype == "bf16" and not torch.cuda.is_bf16_supported():
            return f"{self.props.name} does not support bf16"
        return None

    def empty_cache(self) -> None:
        torch.cuda.empty_cache()

    def describe(self) -> dict[str, Any]:
        p = self.props
        return {
            "kind": "cuda",
            "index": self.index,
            "name": p.name,
            "uuid": str(getattr(p, "uuid", "")),
            "total_memory_bytes": int(p.total_memory),
            "sm_count": int(p.multi_processor_count),
            "capability": f"{p.major}.{p.minor}",
            "l2_bytes": self.l2_bytes,
            "flush": self.flush,
            "flush_buffer_bytes": max(2 * self.l2_bytes, 8 << 20) if self.flush == "cold" else 0,
            "cuda_graph": self.cuda_graph,
        }
