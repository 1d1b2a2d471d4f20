"""CudaDevice against a scripted GPU timeline: what the events time, where graphs capture.

Each test builds the situation one of issue #15's bugs needs and asserts the number or the
order of operations that the bug would change.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable

import pytest
import torch

from attnbench.devices.cuda import BWD_GRAPH_REASON, GRAPH_WARMUP_CALLS, CudaDevice
from attnbench.errors import EnvironmentUnavailable, UnsupportedCase
from attnbench.measure.timing import measure
from attnbench.suite.schema import TimingSettings
from tests.devices.fake_cuda import FakeCuda

KERNEL_S = 10e-6
DISPATCH_S = 40e-6  # host cost of dispatching the call (SDPA checks, dynamo guards)


def _kernel(fake: FakeCuda, device: int = 0) -> Callable[[], object]:
    def call() -> None:
        fake.launch(device, "attn", DISPATCH_S, KERNEL_S)

    return call


def test_cold_sample_times_the_kernel_not_the_host_dispatch() -> None:
    fake = FakeCuda(flush_s=60e-6)
    dev = CudaDevice(0, flush="cold", api=fake)
    dev.prepare_sample()
    block = dev.time_block(_kernel(fake), 1)
    # with a synchronize between flush and start, the start event fires on an idle GPU and
    # the events time 40 µs of dispatch plus the 10 µs kernel
    assert block.device_s == pytest.approx(KERNEL_S)
    ops = [op for op in fake.log if not op.startswith("wait")]
    flush = ops.index("launch:flush@default0")
    assert ops[flush - 1] == "sync:0"  # the GPU was idle before the flush was queued
    timed = ["record:default0", "launch:attn@default0", "record:default0"]
    assert ops[flush + 1 : flush + 4] == timed


def test_cold_mode_flushes_before_every_sample_and_never_in_warm_up() -> None:
    fake = FakeCuda()
    dev = CudaDevice(0, flush="cold", api=fake)
    settings = TimingSettings(warmup_ms=0.0, min_samples=6, min_time_ms=0.0, target_rel_iqr=0.5)
    r = measure(_kernel(fake), dev, settings)
    assert r.number == 1
    assert r.samples_ms == pytest.approx([KERNEL_S * 1e3] * len(r.samples_ms))
    assert fake.log.count("launch:flush@default0") == len(r.samples_ms)
    assert dev.describe()["time_mode"] == "eager_cold_l2"


def test_hot_mode_has_no_flush_and_batches_calls() -> None:
    fake = FakeCuda()
    dev = CudaDevice(0, flush="hot", api=fake)
    dev.prepare_sample()
    block = dev.time_block(_kernel(fake), 4)
    assert "launch:flush@default0" not in fake.log
    # back to back, each kernel waits for its own 40 µs dispatch: a launch-bound block
    assert block.device_s == pytest.approx(4 * DISPATCH_S + KERNEL_S)


def test_graph_on_cuda_1_captures_and_replays_on_device_1() -> None:
    fake = FakeCuda(devices=2)
    assert fake.current_device == 0
    CudaDevice(0, flush="hot", cuda_graph=True, api=fake).time_block(_kernel(fake), 1)
    dev = CudaDevice(1, flush="hot", cuda_graph=True, api=fake)
    block = dev.time_block(_kernel(fake, device=1), 5)
    graph = fake.graphs[1]
    # a capture on device 0's stream leaves the graph empty and the replay times ~0
    assert graph.device == 1
    assert graph.kernels == [("attn", KERNEL_S)]
    # one 3 µs replay launch, then the five replayed kernels back to back
    assert block.device_s == pytest.approx(fake.replay_dispatch_s + 5 * KERNEL_S)
    assert "replay:side3:1" not in fake.log  # replays go to the device's current stream
    assert "replay:default1:1" in fake.log
    assert fake.current_device == 0  # the caller's current device is left alone


def test_graph_warm_up_runs_on_a_side_stream_of_the_device() -> None:
    fake = FakeCuda(devices=2)
    dev = CudaDevice(1, flush="hot", cuda_graph=True, api=fake)
    dev.time_block(_kernel(fake, device=1), 1)
    side = [op for op in fake.log if op.startswith("launch:attn")]
    assert side == ["launch:attn@side2"] * GRAPH_WARMUP_CALLS


def test_graphs_are_freed_at_the_end_of_the_case() -> None:
    fake = FakeCuda()
    dev = CudaDevice(0, flush="hot", cuda_graph=True, api=fake)

    class Inputs:
        pass

    held: list[Inputs] = [Inputs()]
    ref = weakref.ref(held[0])

    def call() -> None:
        assert held
        fake.launch(0, "attn", DISPATCH_S, KERNEL_S)

    dev.time_block(call, 2)
    dev.time_block(call, 2)
    assert len(fake.graphs) == 1  # captured once per case, replayed after
    dev.end_case()
    assert fake.graphs[0].resets == 1
    assert fake.empty_cache_calls == 1
    held.clear()
    del call
    gc.collect()
    assert ref() is None  # nothing on the device keeps the case's inputs alive
    dev.end_case()  # nothing left: no second reset
    assert fake.graphs[0].resets == 1


def test_failed_capture_restores_the_stream_and_releases_the_pool() -> None:
    fake = FakeCuda()
    dev = CudaDevice(0, flush="hot", cuda_graph=True, api=fake)
    default = fake.current_stream(0)

    def backward_like() -> None:
        # autograd runs a backward op on its forward's stream, not the capture stream
        fake.launch(0, "bwd", DISPATCH_S, KERNEL_S, stream=fake.default[0])

    with pytest.raises(UnsupportedCase, match="CUDA graph capture failed"):
        dev.time_block(backward_like, 1)
    assert fake.current_stream(0) is default
    assert fake.graphs[0].resets == 1
    assert dev._graphs == {}


@pytest.mark.parametrize(
    "error",
    [torch.OutOfMemoryError("CUDA out of memory"), RuntimeError("CUDA error: out of memory")],
)
@pytest.mark.parametrize("fail_at", [1, GRAPH_WARMUP_CALLS + 1])  # warm-up, capture
def test_out_of_memory_in_warm_up_or_capture_is_oom(error: Exception, fail_at: int) -> None:
    fake = FakeCuda()
    dev = CudaDevice(0, flush="hot", cuda_graph=True, api=fake)
    default = fake.current_stream(0)
    calls = []

    def call() -> None:
        calls.append(1)
        if len(calls) == fail_at:
            raise error
        fake.launch(0, "attn", DISPATCH_S, KERNEL_S)

    with pytest.raises(torch.OutOfMemoryError):
        dev.time_block(call, 1)
    assert fake.current_stream(0) is default
    assert fake.graphs[0].resets == 1


def test_bwd_is_refused_in_graph_mode_only() -> None:
    graph = CudaDevice(0, flush="hot", cuda_graph=True, api=FakeCuda())
    eager = CudaDevice(0, flush="cold", api=FakeCuda())
    assert graph.pass_problem("bwd") == BWD_GRAPH_REASON
    assert graph.pass_problem("fwd_bwd") is None
    assert eager.pass_problem("bwd") is None


def test_energy_window_replays_the_timed_graph() -> None:
    fake = FakeCuda()
    dev = CudaDevice(0, flush="cold", cuda_graph=True, api=fake)
    call = _kernel(fake)
    dev.time_block(call, 1)
    replay = dev.energy_call(call)
    replay()
    assert len(fake.graphs) == 1 and fake.graphs[0].replays == 2
    assert dev.energy_mode == "graph_replay_hot_l2"
    assert CudaDevice(0, api=FakeCuda()).energy_call(call) is call


def test_bf16_follows_the_case_device_capability() -> None:
    fake = FakeCuda(devices=2, capability=[(8, 0), (7, 5)])
    assert fake.current_device == 0  # is_bf16_supported() would ask device 0 (8.0)
    t4 = CudaDevice(1, api=fake)
    why = t4.dtype_problem("bf16")
    assert why is not None and "compute capability 7.5" in why and "8.0" in why
    assert t4.dtype_problem("fp16") is None
    assert CudaDevice(0, api=fake).dtype_problem("bf16") is None


def test_missing_device_index_is_environment_error() -> None:
    with pytest.raises(EnvironmentUnavailable, match="cuda:2 does not exist"):
        CudaDevice(2, api=FakeCuda(devices=2))
    with pytest.raises(EnvironmentUnavailable, match="CUDA is not available"):
        CudaDevice(0, api=FakeCuda(devices=0))
