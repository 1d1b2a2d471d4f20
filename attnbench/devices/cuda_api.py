"""The torch.cuda calls the CUDA device makes, one method each: the seam tests fake.

:class:`~attnbench.devices.cuda.CudaDevice` never touches ``torch.cuda`` directly; it calls a
:class:`CudaApi`. This class is the real one (each method is one documented torch 2.x call);
``tests/devices/fake_cuda.py`` replaces it with a scripted GPU timeline (host clock, per-device
streams, events that fire when the stream reaches them, graphs that hold what was captured on
their stream), so cold-L2 ordering, device selection, graph capture, failed captures and graph
lifetimes are tested on a machine without a GPU.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import torch


class CudaApi:
    """Thin wrapper over ``torch.cuda``; every method is the torch call of the same name."""

    def is_available(self) -> bool:
        return torch.cuda.is_available()

    def device_count(self) -> int:
        return torch.cuda.device_count()

    def properties(self, index: int) -> Any:
        return torch.cuda.get_device_properties(index)

    def capability(self, index: int) -> tuple[int, int]:
        """``(major, minor)`` of device ``index`` (never the current device's)."""
        return torch.cuda.get_device_capability(index)

    def device(self, index: int) -> AbstractContextManager[Any]:
        """``torch.cuda.device(index)``: makes ``index`` current inside the block."""
        return torch.cuda.device(index)

    def synchronize(self, index: int) -> None:
        torch.cuda.synchronize(index)

    def current_stream(self, index: int) -> Any:
        return torch.cuda.current_stream(index)

    def set_stream(self, stream: Any) -> None:
        torch.cuda.set_stream(stream)

    def new_stream(self, index: int) -> Any:
        return torch.cuda.Stream(index)  # type: ignore[no-untyped-call]

    def use_stream(self, stream: Any) -> AbstractContextManager[Any]:
        return torch.cuda.stream(stream)

    def new_event(self) -> Any:
        return torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]

    def empty_bytes(self, nbytes: int, index: int) -> Any:
        """An uninitialised int8 buffer of ``nbytes`` on device ``index`` (the L2 flush)."""
        return torch.empty(nbytes, dtype=torch.int8, device=torch.device("cuda", index))

    def new_graph(self) -> Any:
        return torch.cuda.CUDAGraph()

    def capture(self, graph: Any, stream: Any) -> AbstractContextManager[Any]:
        """``torch.cuda.graph`` on an explicit capture ``stream``.

        Without ``stream`` torch uses a class-wide side stream created on whichever device was
        current the first time any graph was captured, so the stream is always passed.
        """
        return torch.cuda.graph(graph, stream=stream)

    def reset_peak_memory_stats(self, index: int) -> None:
        torch.cuda.reset_peak_memory_stats(index)

    def memory_allocated(self, index: int) -> int:
        return torch.cuda.memory_allocated(index)

    def memory_reserved(self, index: int) -> int:
        return torch.cuda.memory_reserved(index)

    def max_memory_allocated(self, index: int) -> int:
        return torch.cuda.max_memory_allocated(index)

    def max_memory_reserved(self, index: int) -> int:
        return torch.cuda.max_memory_reserved(index)

    def empty_cache(self) -> None:
        torch.cuda.empty_cache()
