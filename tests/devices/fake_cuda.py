"""A scripted GPU timeline standing in for ``torch.cuda`` at the CudaApi seam.

Time is exact and only moves when the code under test does something:

* the host clock ``host_s`` advances by a kernel's *dispatch* cost when it is launched;
* a kernel starts when it has been dispatched and its stream is free, and occupies the stream
  for its *duration*; ``synchronize`` moves the host clock to the moment the device is idle;
* an event records when its stream reaches it (after everything queued before it), so a gap
  between a host synchronize and a slow dispatch shows up in ``elapsed_time`` exactly as it does
  on a GPU;
* a kernel launched for device ``d`` goes to ``d``'s *current* stream: captured into a graph if
  that stream is capturing, run eagerly otherwise (so capturing on the wrong device yields an
  empty graph, as it does in CUDA); a launch on another stream of a device that is capturing
  invalidates the capture, and ``capture_end`` then raises without restoring the stream, like
  ``torch.cuda.graph.__exit__``.

Every call is appended to ``log`` so tests can assert the order of operations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


class FakeStream:
    def __init__(self, timeline: FakeCuda, device: int, name: str) -> None:
        self.timeline = timeline
        self.device = device
        self.name = name
        self.ready_at = 0.0  # device time when everything queued on it has finished
        self.capturing: FakeGraph | None = None

    def wait_stream(self, other: FakeStream) -> None:
        self.timeline.log.append(f"wait:{self.name}<-{other.name}")
        self.ready_at = max(self.ready_at, other.ready_at)

    def __repr__(self) -> str:
        return f"FakeStream({self.name})"


class FakeEvent:
    def __init__(self, timeline: FakeCuda) -> None:
        self.timeline = timeline
        self.t: float | None = None
        self.device: int | None = None

    def record(self, stream: FakeStream) -> None:
        tl = self.timeline
        if stream.capturing is not None:
            raise RuntimeError("fake: timing events are not recorded inside a capture")
        self.t = max(tl.host_s, stream.ready_at)
        stream.ready_at = self.t
        self.device = stream.device
        tl.log.append(f"record:{stream.name}")

    def elapsed_time(self, end: FakeEvent) -> float:
        """Milliseconds from this event to ``end`` (both recorded, ``end`` completed)."""
        if self.t is None or end.t is None:
            raise RuntimeError("fake: event not recorded")
        if self.device != end.device:
            raise RuntimeError("fake: events on different devices")
        if self.timeline.host_s < end.t:
            raise RuntimeError("fake: end event has not completed (no synchronize)")
        return (end.t - self.t) * 1e3


@dataclass
class FakeGraph:
    timeline: FakeCuda
    device: int | None = None
    kernels: list[tuple[str, float]] = field(default_factory=list)
    invalid: bool = False
    replays: int = 0
    resets: int = 0

    def replay(self) -> None:
        tl = self.timeline
        if self.device is None:
            raise RuntimeError("fake: replay of a graph that was never captured")
        stream = tl.current[self.device]
        tl.host_s += tl.replay_dispatch_s
        start = max(tl.host_s, stream.ready_at)
        stream.ready_at = start + sum(d for _, d in self.kernels)
        self.replays += 1
        tl.log.append(f"replay:{stream.name}:{len(self.kernels)}")

    def reset(self) -> None:
        self.resets += 1
        self.kernels.clear()
        self.timeline.log.append("graph_reset")


class FakeBuffer:
    def __init__(self, timeline: FakeCuda, device: int, nbytes: int) -> None:
        self.timeline = timeline
        self.device = device
        self.nbytes = nbytes

    def zero_(self) -> FakeBuffer:
        tl = self.timeline
        tl.launch(self.device, "flush", tl.flush_dispatch_s, tl.flush_s)
        return self


class FakeCuda:
    """Implements the methods of :class:`attnbench.devices.cuda_api.CudaApi`."""

    def __init__(
        self,
        devices: int = 1,
        *,
        capability: tuple[int, int] | list[tuple[int, int]] = (9, 0),
        l2_bytes: int = 50 << 20,
        flush_s: float = 60e-6,
        flush_dispatch_s: float = 5e-6,
        replay_dispatch_s: float = 3e-6,
    ) -> None:
        self.host_s = 0.0
        self.log: list[str] = []
        self.count = devices
        caps = capability if isinstance(capability, list) else [capability] * devices
        self.caps = caps
        self.l2_bytes = l2_bytes
        self.flush_s = flush_s
        self.flush_dispatch_s = flush_dispatch_s
        self.replay_dispatch_s = replay_dispatch_s
        self.current_device = 0
        self.default = [FakeStream(self, d, f"default{d}") for d in range(devices)]
        self.current: list[FakeStream] = list(self.default)
        self.streams: list[FakeStream] = list(self.default)
        self.graphs: list[FakeGraph] = []
        self.default_capture_stream: FakeStream | None = None
        self.empty_cache_calls = 0
        self.allocated = [0] * devices
        self.peak = [0] * devices

    # ---------------------------------------------------------------- kernels (tests call)
    def launch(
        self,
        device: int,
        name: str,
        dispatch_s: float,
        duration_s: float,
        stream: FakeStream | None = None,
    ) -> None:
        """A kernel for a tensor on ``device``: host dispatch, then queued on a stream."""
        self.host_s += dispatch_s
        target = stream if stream is not None else self.current[device]
        capturing = [s for s in self.streams if s.device == device and s.capturing is not None]
        if capturing and target.capturing is None:
            for s in capturing:
                assert s.capturing is not None
                s.capturing.invalid = True
            raise RuntimeError("fake: operation not permitted when stream is capturing")
        if target.capturing is not None:
            target.capturing.kernels.append((name, duration_s))
            self.log.append(f"capture:{name}@{target.name}")
            return
        start = max(self.host_s, target.ready_at)
        target.ready_at = start + duration_s
        self.log.append(f"launch:{name}@{target.name}")

    # ---------------------------------------------------------------- CudaApi
    def is_available(self) -> bool:
        return self.count > 0

    def device_count(self) -> int:
        return self.count

    def properties(self, index: int) -> Any:
        major, minor = self.caps[index]
        return SimpleNamespace(
            name=f"Fake GPU {index}",
            uuid=f"0000000{index}-0000-0000-0000-000000000000",
            total_memory=80 << 30,
            multi_processor_count=132,
            major=major,
            minor=minor,
            L2_cache_size=self.l2_bytes,
        )

    def capability(self, index: int) -> tuple[int, int]:
        return self.caps[index]

    @contextmanager
    def device(self, index: int) -> Iterator[None]:
        prev, self.current_device = self.current_device, index
        try:
            yield
        finally:
            self.current_device = prev

    def synchronize(self, index: int) -> None:
        busy = max(s.ready_at for s in self.streams if s.device == index)
        self.host_s = max(self.host_s, busy)
        self.log.append(f"sync:{index}")

    def current_stream(self, index: int) -> FakeStream:
        return self.current[index]

    def set_stream(self, stream: FakeStream) -> None:
        self.current[stream.device] = stream
        self.current_device = stream.device
        self.log.append(f"set_stream:{stream.name}")

    def new_stream(self, index: int) -> FakeStream:
        s = FakeStream(self, index, f"side{len(self.streams)}")
        self.streams.append(s)
        return s

    @contextmanager
    def use_stream(self, stream: FakeStream) -> Iterator[None]:
        prev = self.current[stream.device]
        self.current[stream.device] = stream
        try:
            yield
        finally:
            self.current[stream.device] = prev

    def new_event(self) -> FakeEvent:
        return FakeEvent(self)

    def empty_bytes(self, nbytes: int, index: int) -> FakeBuffer:
        return FakeBuffer(self, index, nbytes)

    def new_graph(self) -> FakeGraph:
        g = FakeGraph(self)
        self.graphs.append(g)
        return g

    @contextmanager
    def capture(self, graph: FakeGraph, stream: FakeStream | None) -> Iterator[None]:
        # like torch.cuda.graph: no stream means one side stream shared by every capture,
        # created on whichever device was current the first time
        if stream is None and self.default_capture_stream is None:
            self.default_capture_stream = self.new_stream(self.current_device)
        capture_stream = stream if stream is not None else self.default_capture_stream
        assert capture_stream is not None
        self.synchronize(self.current_device)
        prev = self.current[capture_stream.device]
        self.current[capture_stream.device] = capture_stream
        capture_stream.capturing = graph
        graph.device = capture_stream.device
        self.log.append(f"capture_begin:{capture_stream.name}")
        try:
            yield
        finally:
            capture_stream.capturing = None
            self.log.append("capture_end")
        # reached only when the body did not raise
        if graph.invalid:
            raise RuntimeError("fake: capture invalidated (capture_end failed)")
        self.current[capture_stream.device] = prev

    def reset_peak_memory_stats(self, index: int) -> None:
        self.peak[index] = self.allocated[index]

    def memory_allocated(self, index: int) -> int:
        return self.allocated[index]

    def memory_reserved(self, index: int) -> int:
        return self.allocated[index]

    def max_memory_allocated(self, index: int) -> int:
        return self.peak[index]

    def max_memory_reserved(self, index: int) -> int:
        return self.peak[index]

    def empty_cache(self) -> None:
        self.empty_cache_calls += 1
