"""The CUDA device on a real GPU (skipped without one) and its refusal without CUDA."""

from __future__ import annotations

import pytest
import torch

from attnbench import Case, variants
from attnbench.devices import get_device
from attnbench.errors import EnvironmentUnavailable
from attnbench.measure.bench import make_call
from attnbench.measure.timing import measure
from attnbench.suite.schema import TimingSettings

needs_gpu = pytest.mark.gpu


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_device_without_cuda_is_environment_error() -> None:
    with pytest.raises(EnvironmentUnavailable, match="CUDA is not available") as info:
        get_device("cuda")
    assert info.value.exit_code == 3


def _sdpa_call(device: torch.device) -> object:
    case = Case(1, 8, 1024, 64, False, "fp16", {}, "softmax.sdpa", "fwd")
    v = variants.get(case.variant)
    return make_call(v, v.make_inputs(case, device), case)


@needs_gpu
@pytest.mark.parametrize(("flush", "graph"), [("cold", False), ("hot", False), ("hot", True)])
def test_cuda_timing_modes(flush: str, graph: bool) -> None:
    dev = get_device("cuda", flush=flush, cuda_graph=graph)
    call = _sdpa_call(dev.torch_device)
    settings = TimingSettings(warmup_ms=10, min_samples=10, min_time_ms=20)
    r = measure(call, dev, settings)  # type: ignore[arg-type]
    assert r.summary.median_ms > 0
    assert r.number == 1 if flush == "cold" else r.number >= 1
    described = dev.describe()
    assert described["flush"] == flush and described["cuda_graph"] is graph
    assert described["l2_bytes"] > 0


@needs_gpu
def test_cuda_memory_window_sees_allocation() -> None:
    dev = get_device("cuda")
    with dev.memory_window() as mem:
        t = torch.empty(64 << 20, dtype=torch.uint8, device=dev.torch_device)
        del t
    assert mem.peak_bytes is not None and mem.peak_bytes >= 64 << 20
