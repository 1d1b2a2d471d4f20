"""The CUDA device on a real GPU (marked ``gpu``, skipped without one) and its refusal without.

These are the checks of issue #15 that no fake can make: that a graph replay really runs the
kernel (its time is not ~0) on every device index, that cold mode and every pass time
something, that bf16 support follows the case device's capability, and that a case's graphs
are really freed. ``benchmarks/gpu_first_contact.sh`` runs them first.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from attnbench import Case, variants
from attnbench.devices import get_device
from attnbench.devices.cuda import BWD_GRAPH_REASON, CudaDevice
from attnbench.errors import EnvironmentUnavailable
from attnbench.measure.bench import make_call
from attnbench.measure.timing import measure
from attnbench.suite.schema import TimingSettings

needs_gpu = pytest.mark.gpu
SETTINGS = TimingSettings(warmup_ms=10, min_samples=10, min_time_ms=20, max_time_s=2)


def _index(i: int) -> int:
    if torch.cuda.device_count() <= i:
        pytest.skip(f"needs {i + 1} CUDA devices, {torch.cuda.device_count()} visible")
    return i


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_device_without_cuda_is_environment_error() -> None:
    with pytest.raises(EnvironmentUnavailable, match="CUDA is not available") as info:
        get_device("cuda")
    assert info.value.exit_code == 3


def _sdpa_call(device: torch.device, pass_: str = "fwd", n: int = 1024) -> Callable[[], object]:
    case = Case(1, 8, n, 64, False, "fp16", {}, "softmax.sdpa", pass_)
    v = variants.get(case.variant)
    return make_call(v, v.make_inputs(case, device), case)


@needs_gpu
@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize(
    ("flush", "graph"), [("cold", False), ("hot", False), ("hot", True), ("cold", True)]
)
def test_cuda_timing_modes(index: int, flush: str, graph: bool) -> None:
    dev = get_device(f"cuda:{_index(index)}", flush=flush, cuda_graph=graph)
    call = _sdpa_call(dev.torch_device)
    r = measure(call, dev, SETTINGS)
    dev.end_case()
    assert r.summary.median_ms > 0
    assert r.number == 1 if flush == "cold" else r.number >= 1
    described = dev.describe()
    assert described["flush"] == flush and described["cuda_graph"] is graph
    assert described["l2_bytes"] > 0


@needs_gpu
@pytest.mark.parametrize("index", [0, 1])
def test_graph_replay_runs_the_kernel(index: int) -> None:
    """A replay of an empty graph (captured on the wrong device) would time ~0."""
    spec = f"cuda:{_index(index)}"
    eager = get_device(spec, flush="hot")
    graph = get_device(spec, flush="hot", cuda_graph=True)
    call = _sdpa_call(eager.torch_device, n=2048)
    eager_ms = measure(call, eager, SETTINGS).summary.median_ms
    graph_ms = measure(call, graph, SETTINGS).summary.median_ms
    graph.end_case()
    assert graph_ms > 0.3 * eager_ms, (graph_ms, eager_ms)


@needs_gpu
@pytest.mark.parametrize("pass_", ["fwd_bwd", "bwd"])
@pytest.mark.parametrize("flush", ["cold", "hot"])
def test_backward_passes_time_on_the_gpu(pass_: str, flush: str) -> None:
    dev = get_device("cuda", flush=flush)
    r = measure(_sdpa_call(dev.torch_device, pass_), dev, SETTINGS)
    assert r.summary.median_ms > 0


@needs_gpu
def test_bwd_is_refused_in_graph_mode_and_fwd_bwd_captures() -> None:
    dev = get_device("cuda", flush="hot", cuda_graph=True)
    assert dev.pass_problem("bwd") == BWD_GRAPH_REASON
    r = measure(_sdpa_call(dev.torch_device, "fwd_bwd"), dev, SETTINGS)
    dev.end_case()
    assert r.summary.median_ms > 0


@needs_gpu
def test_end_case_frees_the_graph_pool() -> None:
    dev = get_device("cuda", flush="hot", cuda_graph=True)
    assert isinstance(dev, CudaDevice)
    call = _sdpa_call(dev.torch_device, "fwd_bwd", n=4096)
    measure(call, dev, SETTINGS)
    held = torch.cuda.memory_reserved(dev.index)
    dev.end_case()
    del call
    torch.cuda.empty_cache()
    assert torch.cuda.memory_reserved(dev.index) < held


@needs_gpu
def test_bf16_follows_the_device_capability() -> None:
    for i in range(torch.cuda.device_count()):
        dev = get_device(f"cuda:{i}")
        major, _ = torch.cuda.get_device_capability(i)
        assert (dev.dtype_problem("bf16") is None) is (major >= 8)


@needs_gpu
def test_cuda_memory_window_sees_allocation() -> None:
    dev = get_device("cuda")
    with dev.memory_window() as mem:
        t = torch.empty(64 << 20, dtype=torch.uint8, device=dev.torch_device)
        del t
    assert mem.peak_bytes is not None and mem.peak_bytes >= 64 << 20
