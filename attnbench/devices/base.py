"""The one interface between measurement code and hardware.

Measurement code only calls a :class:`Device`: synchronize, time a block of calls, flush the
cache, watch memory. ``cpu`` and ``cuda`` implement it; tests substitute scripted timers at
this boundary.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class BlockTime:
    """Duration of one timed block of ``number`` calls, in seconds.

    ``device_s`` is device time (CUDA events on GPU; equal to host time on CPU); ``host_s``
    is wall time on the host around the synchronized block.
    """

    device_s: float
    host_s: float
    number: int


@dataclass
class MemoryStats:
    """Peak memory of one window above its baseline, in bytes (None = not measured)."""

    peak_bytes: int | None = None
    peak_reserved_bytes: int | None = None
    method: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class BlockTimer(ABC):
    """Times ``number`` synchronized calls of ``fn``; the timing core's only clock."""

    @abstractmethod
    def time_block(self, fn: Callable[[], object], number: int) -> BlockTime:
        """Run ``fn`` ``number`` times between two synchronizations and time it."""

    def prepare_sample(self) -> None:  # noqa: B027 - optional hook
        """Work done before every sample, outside the timed region (L2 flush on GPU)."""

    @property
    def per_sample_calls_fixed(self) -> bool:
        """True when each sample must be one call (cold-cache GPU timing)."""
        return False


class Device(BlockTimer):
    """A place to run kernels: ``cpu`` or ``cuda:N``."""

    kind: str
    name: str

    @property
    @abstractmethod
    def torch_device(self) -> torch.device:
        """The torch device tensors are placed on."""

    @abstractmethod
    def synchronize(self) -> None:
        """Wait for all queued work on this device."""

    @abstractmethod
    @contextmanager
    def memory_window(self) -> Iterator[MemoryStats]:
        """Measure peak memory of the enclosed code above the level at entry."""

    @abstractmethod
    def dtype_problem(self, dtype: str) -> str | None:
        """Why ``dtype`` cannot run here, or None."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """JSON-ready facts about the device for the result file's settings."""

    @property
    def flush_mode(self) -> str:
        """``cold`` | ``hot`` | ``none`` (CPU), as stored in the result settings."""
        return "none"

    def empty_cache(self) -> None:
        # optional hook; devices without a cache keep this no-op
        """Release cached allocator memory (after an out-of-memory, between cases)."""

    def pass_problem(self, pass_: str) -> str | None:
        """Why the ``pass_`` (fwd | bwd | fwd_bwd) cannot be timed in this device's mode."""
        return None

    def end_case(self) -> None:
        """Release what the device kept for the case just measured (captured CUDA graphs)."""

    @property
    def time_mode(self) -> str:
        """How samples were taken, stored with each case: ``eager`` on CPU."""
        return "eager"

    @property
    def energy_mode(self) -> str:
        """How the energy window runs calls: back to back, so never with a cold cache."""
        return "eager"

    def energy_call(self, fn: Callable[[], object]) -> Callable[[], object]:
        """The callable the energy window repeats for ``fn`` (the graph replay in graph mode)."""
        return fn
