"""The garbage-collection policy around measurements (no full collection per case)."""

from __future__ import annotations

import gc
import weakref

import torch

from attnbench.devices.cpu import CpuDevice
from attnbench.measure.bench import _measure_memory, frozen_startup_heap, quiet_heap
from attnbench.results.schema import CaseResult


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_quiet_heap_collects_young_garbage_then_keeps_the_collector_off() -> None:
    gc.collect()
    dead = cycle()  # a fresh reference cycle: generation 0
    assert dead() is not None
    assert gc.isenabled()
    with quiet_heap():
        assert dead() is None  # the young collection freed it before the window
        assert not gc.isenabled()
    assert gc.isenabled()


def test_quiet_heap_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with quiet_heap():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_frozen_startup_heap_freezes_for_the_run_and_unfreezes() -> None:
    before = gc.get_freeze_count()
    with frozen_startup_heap():
        assert gc.get_freeze_count() > before
        assert gc.get_count()[2] == 0
    assert gc.get_freeze_count() == before


def test_memory_peak_stays_exact_with_old_cyclic_garbage_around() -> None:
    device = CpuDevice()

    def hold() -> weakref.ref[Node]:
        a, b = Node(), Node()
        a.other, b.other = b, a
        a.blob = torch.ones(1 << 18)  # type: ignore[attr-defined]  # 1 MiB in a cycle
        return weakref.ref(a)

    garbage = hold()
    gc.collect(0)  # the cycle is promoted to an older generation; the young collection
    # before the window will not free it, and with the collector off nothing frees it inside
    n = 1 << 16

    def call() -> torch.Tensor:
        return torch.empty(n, dtype=torch.float32).fill_(1.0)

    result = CaseResult("x", "x", {}, "ok")
    _measure_memory(result, call, device)
    assert result.metrics["memory/peak_bytes"] == n * 4
    del garbage
