"""The CUDA device: events on the device's current stream, cold-L2 flush, allocator peaks.

Every ``torch.cuda`` call goes through :class:`~attnbench.devices.cuda_api.CudaApi`, and every
one of them runs inside ``torch.cuda.device(index)``, so ``cuda:1`` captures, times and flushes
on GPU 1 rather than on whichever device happens to be current.

Cold mode (the default) follows triton's ``do_bench``: one call per sample, and the L2 flush (a
zeroed buffer of twice the L2) is *queued* in front of the start event with no host
synchronize between them. The GPU is still busy flushing while the host records the start
event and dispatches the call, so the start event fires when the flush ends and the call's
kernels are already waiting: the events time the kernels, not the host's dispatch (SDPA
argument checks, dynamo guards). The flush itself stays outside the events. A call whose host
dispatch takes longer than the flush's device time (tens of µs) still shows the difference as
GPU idle time; nvbench hides that with a blocking kernel, which plain torch cannot launch.
``hot`` mode skips the flush and lets samples batch calls.

CUDA-graph mode captures each callable once per case (warm-up on a side stream, then capture
on an explicit stream of this device) and frees the graph, its private memory pool and the
inputs it holds at :meth:`CudaDevice.end_case`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from attnbench.devices.base import BlockTime, Device, MemoryStats
from attnbench.devices.cuda_api import CudaApi
from attnbench.errors import EnvironmentUnavailable, UnsupportedCase

GRAPH_WARMUP_CALLS = 3
"""Eager calls on the side stream before capture (allocator and library warm-up)."""

BWD_GRAPH_REASON = (
    "bwd is not timed under CUDA-graph capture: its forward ran eagerly on the default "
    "stream and autograd runs each backward op on its forward's stream, which invalidates "
    "the capture; time fwd_bwd in graph mode, or bwd with timing.cuda_graph: false"
)


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


class CudaDevice(Device):
    """One CUDA GPU, ``cuda:index``.

    Args:
        index: torch's device index.
        flush: ``cold`` (flush L2 before each one-call sample) or ``hot``.
        cuda_graph: time the replay of a captured graph instead of eager calls.
        api: the torch.cuda seam (tests pass a fake timeline).
    """

    kind = "cuda"

    def __init__(
        self,
        index: int = 0,
        flush: str = "cold",
        cuda_graph: bool = False,
        api: CudaApi | None = None,
    ) -> None:
        self.api = api if api is not None else CudaApi()
        if not self.api.is_available():
            raise EnvironmentUnavailable(
                "CUDA is not available: torch "
                f"{torch.__version__} was built without CUDA or no GPU/driver is visible. "
                "Use --device cpu, or install a CUDA build of torch."
            )
        count = self.api.device_count()
        if index >= count:
            raise EnvironmentUnavailable(
                f"cuda:{index} does not exist: {count} CUDA device(s) visible "
                "(check CUDA_VISIBLE_DEVICES)"
            )
        self.index = index
        self.name = f"cuda:{index}"
        self.flush = flush
        self.cuda_graph = cuda_graph
        self.props = self.api.properties(index)
        self.l2_bytes = int(getattr(self.props, "L2_cache_size", 0) or 0)
        self._flush_buf: Any = None
        self._flush_pending = False
        self._graphs: dict[Callable[[], object], Any] = {}
        with self.api.device(index):
            self._start = self.api.new_event()
            self._end = self.api.new_event()

    @property
    def torch_device(self) -> torch.device:
        return torch.device("cuda", self.index)

    @property
    def flush_mode(self) -> str:
        return self.flush

    @property
    def per_sample_calls_fixed(self) -> bool:
        return self.flush == "cold"

    @property
    def time_mode(self) -> str:
        how = "graph_replay" if self.cuda_graph else "eager"
        return f"{how}_{'cold' if self.flush == 'cold' else 'hot'}_l2"

    @property
    def energy_mode(self) -> str:
        return "graph_replay_hot_l2" if self.cuda_graph else "eager_hot_l2"

    @property
    def flush_bytes(self) -> int:
        """Size of the cold-L2 flush buffer: twice the L2, at least 8 MiB."""
        return max(2 * self.l2_bytes, 8 << 20)

    def synchronize(self) -> None:
        self.api.synchronize(self.index)

    def prepare_sample(self) -> None:
        """Ask for an L2 flush in front of the next timed block (cold mode).

        Nothing is launched here: :meth:`time_block` queues the flush right before its start
        event, so no host synchronize separates the flush from the timed call.
        """
        self._flush_pending = self.flush == "cold"

    def _queue_flush(self) -> None:
        if self._flush_buf is None:
            self._flush_buf = self.api.empty_bytes(self.flush_bytes, self.index)
        self._flush_buf.zero_()

    # ------------------------------------------------------------------ graphs

    def _replay_of(self, fn: Callable[[], object]) -> Callable[[], object]:
        """The CUDA-graph replay of ``fn``, captured on first use in this case."""
        graph = self._graphs.get(fn)
        if graph is None:
            graph = self._capture(fn)
            self._graphs[fn] = graph
        replay: Callable[[], object] = graph.replay
        return replay

    def _capture(self, fn: Callable[[], object]) -> Any:
        """Warm ``fn`` up on a side stream of this device, then capture one call on it.

        A failed capture restores the stream that was current (``torch.cuda.graph`` leaves its
        capture stream current when ``capture_end`` raises) and resets the graph, releasing
        its private pool. Out-of-memory propagates (the case becomes ``oom``); any other
        capture failure makes the case ``skipped`` with torch's message.
        """
        prev = self.api.current_stream(self.index)
        side = self.api.new_stream(self.index)
        side.wait_stream(prev)
        graph = self.api.new_graph()
        try:
            with self.api.use_stream(side):
                for _ in range(GRAPH_WARMUP_CALLS):
                    fn()
            prev.wait_stream(side)
            with self.api.capture(graph, side):
                fn()
        except BaseException as exc:
            self.api.set_stream(prev)
            with contextlib.suppress(Exception):  # a half-captured graph may refuse a reset
                graph.reset()
            if _is_oom(exc):
                if isinstance(exc, torch.OutOfMemoryError):
                    raise
                raise torch.OutOfMemoryError(f"during CUDA graph capture: {exc}") from exc
            if isinstance(exc, RuntimeError):
                raise UnsupportedCase(f"CUDA graph capture failed: {exc}") from exc
            raise
        return graph

    def end_case(self) -> None:
        """Reset every graph captured for the case: frees its pool and the inputs it holds."""
        if not self._graphs:
            return
        with self.api.device(self.index):
            self.api.synchronize(self.index)
            for graph in self._graphs.values():
                with contextlib.suppress(Exception):  # never fail a measured case on cleanup
                    graph.reset()
            self._graphs.clear()
            self.api.empty_cache()

    def pass_problem(self, pass_: str) -> str | None:
        if self.cuda_graph and pass_ == "bwd":
            return BWD_GRAPH_REASON
        return None

    def energy_call(self, fn: Callable[[], object]) -> Callable[[], object]:
        if not self.cuda_graph:
            return fn
        with self.api.device(self.index):
            return self._replay_of(fn)

    # ------------------------------------------------------------------ timing

    def time_block(self, fn: Callable[[], object], number: int) -> BlockTime:
        """Time ``number`` calls between two events on this device's current stream.

        Order: synchronize (the GPU is idle), queue the flush if one was asked for, record
        ``start``, launch the calls, record ``end``, synchronize. Host time runs from just
        before ``start`` to the final synchronize.
        """
        empty_block = getattr(fn, "__name__", "") == "_noop"  # the overhead probe
        with self.api.device(self.index):
            call = self._replay_of(fn) if self.cuda_graph and not empty_block else fn
            stream = self.api.current_stream(self.index)
            self.api.synchronize(self.index)
            flush, self._flush_pending = self._flush_pending, False
            if flush:
                self._queue_flush()
            host0 = time.perf_counter_ns()
            self._start.record(stream)
            for _ in range(number):
                call()
            self._end.record(stream)
            self.api.synchronize(self.index)
            host = (time.perf_counter_ns() - host0) / 1e9
            device = self._start.elapsed_time(self._end) / 1e3
        return BlockTime(device_s=device, host_s=host, number=number)

    @contextmanager
    def memory_window(self) -> Iterator[MemoryStats]:
        stats = MemoryStats(method="cuda_allocator")
        api, i = self.api, self.index
        with api.device(i):
            api.synchronize(i)
            api.reset_peak_memory_stats(i)
            base_alloc = api.memory_allocated(i)
            base_reserved = api.memory_reserved(i)
            yield stats
            api.synchronize(i)
            stats.peak_bytes = max(0, api.max_memory_allocated(i) - base_alloc)
            stats.peak_reserved_bytes = max(0, api.max_memory_reserved(i) - base_reserved)
        stats.details = {"baseline_allocated_bytes": base_alloc}

    def dtype_problem(self, dtype: str) -> str | None:
        """bf16 needs compute capability 8.0 (Ampere); older GPUs would only emulate it.

        ``torch.cuda.is_bf16_supported()`` is not used: it reads the *current* device and
        counts emulation as support (True on V100 and T4).
        """
        if dtype != "bf16":
            return None
        major, minor = self.api.capability(self.index)
        if major < 8:
            return (
                f"{self.props.name} (compute capability {major}.{minor}) has no native bf16 "
                "(needs 8.0 or newer); torch would only emulate it"
            )
        return None

    def empty_cache(self) -> None:
        with self.api.device(self.index):
            self.api.empty_cache()

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
            "flush_buffer_bytes": self.flush_bytes if self.flush == "cold" else 0,
            "cuda_graph": self.cuda_graph,
            "time_mode": self.time_mode,
        }
