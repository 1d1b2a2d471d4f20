"""measure_case phases and statuses, and the timed callables of each pass."""

from __future__ import annotations

import pytest
import torch

from attnbench import Case, variants
from attnbench.devices import CpuDevice
from attnbench.measure.bench import BenchSettings, make_call, measure_case
from attnbench.measure.energy import UnavailableMeter
from attnbench.suite.schema import TimingSettings
from attnbench.variants.base import Inputs
from attnbench.variants.softmax import SoftmaxNaive

FAST = BenchSettings(TimingSettings(warmup_ms=1, min_samples=3, min_time_ms=1, max_time_s=0.2))
METER = UnavailableMeter("no energy meter on this test machine")


def test_fwd_bwd_call_returns_fresh_gradients_each_time() -> None:
    v = variants.get("softmax.naive")
    c = Case(1, 2, 16, 8, False, "fp32", {}, "softmax.naive", "fwd_bwd")
    inputs = v.make_inputs(c)
    call = make_call(v, inputs, c)
    g1, g2 = call(), call()
    assert isinstance(g1, tuple) and len(g1) == 3
    assert all(torch.equal(a, b) for a, b in zip(g1, g2, strict=True))  # not accumulated
    assert inputs["q"].grad is None


def test_bwd_call_reuses_one_graph() -> None:
    v = variants.get("softmax.naive")
    c = Case(1, 2, 16, 8, True, "fp32", {}, "softmax.naive", "bwd")
    call = make_call(v, v.make_inputs(c), c)
    first, second = call(), call()
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))  # type: ignore[arg-type]


def test_ok_case_has_metrics_samples_and_provenance() -> None:
    c = Case(1, 2, 64, 16, True, "fp32", {}, "softmax.sdpa", "fwd")
    r = measure_case(variants.get("softmax.sdpa"), c, CpuDevice(), FAST, METER)
    assert r.status == "ok", r.reason
    assert r.backend.startswith("sdpa.")
    assert len(r.samples) == r.metrics["time/samples"] >= 3
    assert r.metrics["flops/count"] == 2 * 2 * (64 * 65 // 2) * 32  # 2·H·pairs·(D+Dv)
    assert r.metrics["throughput/tflops"] > 0
    assert r.metrics["error/max_abs"] < 1e-5
    assert "memory/peak_bytes" in r.metrics
    assert r.energy == {"method": "unavailable", "reason": "no energy meter on this test machine"}
    assert r.stop_reason in ("converged", "noise_plateau", "max_time")
    assert len(r.fingerprint) == 16


def test_unsupported_backend_is_skipped_with_torch_reason() -> None:
    c = Case(1, 2, 64, 16, False, "fp32", {}, "softmax.sdpa_efficient", "fwd")
    r = measure_case(variants.get("softmax.sdpa_efficient"), c, CpuDevice(), FAST, METER)
    assert r.status == "skipped"
    assert "SDPA backend 'efficient' cannot run this case on cpu" in r.reason
    assert r.samples == []


def test_numerical_mismatch_fails_without_timing() -> None:
    class Wrong(SoftmaxNaive):
        def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
            return super().forward(inputs, case) + 1.0

    c = Case(1, 2, 32, 8, False, "fp32", {}, "softmax.naive", "fwd")
    r = measure_case(Wrong(), c, CpuDevice(), FAST, METER)
    assert r.status == "failed"
    assert "NUMERICAL_MISMATCH" in r.warnings
    assert r.reason.startswith("numerical check failed on b1-h2-n32-d8-full-fp32-fwd")
    assert r.samples == []


def test_exception_becomes_failed_status() -> None:
    class Broken(SoftmaxNaive):
        def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
            raise ValueError("kernel exploded")

    c = Case(1, 2, 32, 8, False, "fp32", {}, "softmax.naive", "fwd")
    r = measure_case(Broken(), c, CpuDevice(), BenchSettings(FAST.timing, check="off"), METER)
    assert r.status == "failed"
    assert r.reason == "ValueError: kernel exploded"


def test_oom_becomes_oom_status() -> None:
    class Oom(SoftmaxNaive):
        def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9 GiB")

    c = Case(1, 2, 32, 8, False, "fp32", {}, "softmax.naive", "fwd")
    r = measure_case(Oom(), c, CpuDevice(), BenchSettings(FAST.timing, check="off"), METER)
    assert r.status == "oom"
    assert "Tried to allocate" in r.reason


def _raising(exc: BaseException) -> SoftmaxNaive:
    class Raises(SoftmaxNaive):
        def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
            raise exc

    return Raises()


def test_not_implemented_is_skipped_with_its_message() -> None:
    c = Case(1, 2, 32, 8, False, "fp32", {}, "softmax.naive", "fwd")
    v = _raising(NotImplementedError("no backward on CPU"))
    r = measure_case(v, c, CpuDevice(), BenchSettings(FAST.timing, check="off"), METER)
    assert r.status == "skipped"
    assert r.reason == "not implemented by torch or the variant: no backward on CPU"


def test_host_bad_alloc_is_oom() -> None:
    c = Case(1, 2, 32, 8, False, "fp32", {}, "softmax.naive", "fwd")
    v = _raising(RuntimeError("std::bad_alloc"))
    r = measure_case(v, c, CpuDevice(), BenchSettings(FAST.timing, check="off"), METER)
    assert r.status == "oom"
    assert r.reason == "host memory exhausted: std::bad_alloc"


def test_flex_backward_on_cpu_is_skipped_before_running() -> None:
    c = Case(1, 2, 32, 8, False, "fp32", {}, "softmax.flex", "fwd_bwd")
    why = variants.get("softmax.flex").unsupported(c, "cpu")
    assert why is not None and "no backward on CPU" in why
    assert variants.get("softmax.flex").unsupported(c, "cuda:0") is None


def test_setup_is_timed_before_anything_else_runs_the_kernel() -> None:
    calls: list[str] = []

    class Recording(SoftmaxNaive):
        def setup(self, inputs: Inputs, case: Case) -> None:
            calls.append(f"setup n={case.seq_len}")

        def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
            calls.append(f"forward n={inputs['q'].shape[-2]}")
            return super().forward(inputs, case)

    c = Case(1, 2, 32, 8, False, "fp32", {}, "softmax.naive", "fwd")
    r = measure_case(Recording(), c, CpuDevice(), FAST, METER)
    assert r.status == "ok"
    assert calls[0] == "setup n=32"  # the check's forward comes after the timed setup
    assert calls[1] == "forward n=32"
    assert "time/setup_ms" in r.metrics


def test_sdpa_falling_back_to_math_is_flagged() -> None:
    # CPU SDPA has no fused kernel for a value width different from the query width
    c = Case(1, 2, 64, 16, False, "fp32", {}, "softmax.sdpa", "fwd", head_dim_v=24)
    r = measure_case(variants.get("softmax.sdpa"), c, CpuDevice(), FAST, METER)
    assert r.backend == "sdpa.math"
    assert "BACKEND_FALLBACK" in r.warnings
    pinned = measure_case(variants.get("softmax.sdpa_math"), c.replace(variant="softmax.sdpa_math"),
                          CpuDevice(), FAST, METER)
    assert pinned.backend == "sdpa.math" and "BACKEND_FALLBACK" not in pinned.warnings


def test_load_average_is_context_only_contention_comes_from_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import attnbench.measure.bench as bench
    import attnbench.measure.contention as contention

    c = Case(1, 2, 32, 8, False, "fp32", {}, "softmax.naive", "fwd")
    settings = BenchSettings(FAST.timing, check="off")
    monkeypatch.setattr(bench, "usable_cpus", lambda: 2)
    monkeypatch.setattr(bench, "host_load", lambda: 5.0)
    calm = iter([contention.Usage(0.0, 0.0, 100, 0), contention.Usage(1.0, 1.0, 101, 0)])
    monkeypatch.setattr(contention, "read_usage", lambda: next(calm))
    loaded = measure_case(variants.get("softmax.naive"), c, CpuDevice(), settings, METER)
    assert loaded.metrics["host/load_avg_1m"] == 5.0  # recorded, not judged
    assert "HOST_BUSY" not in loaded.warnings and "CPU_CONTENDED" not in loaded.warnings
    assert loaded.metrics["host/invol_ctx_switches"] == 1.0

    monkeypatch.setattr(bench, "host_load", lambda: 0.1)
    busy = iter([contention.Usage(0.0, 0.0, 0, 0), contention.Usage(1.0, 0.5, 150, 0)])
    monkeypatch.setattr(contention, "read_usage", lambda: next(busy))
    stolen = measure_case(variants.get("softmax.naive"), c, CpuDevice(), settings, METER)
    assert "CPU_CONTENDED" in stolen.warnings
    assert stolen.metrics["host/invol_ctx_switches"] == 150.0
    assert stolen.metrics["host/cpu_utilisation"] == pytest.approx(
        0.5 / stolen.metrics["host/threads"])


def test_pinned_backend_is_entered_once_per_case_not_per_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import attnbench.variants.softmax as softmax

    entered: list[object] = []
    real = softmax.sdpa_kernel

    def counting(backend: object) -> object:
        entered.append(backend)
        return real(backend)  # type: ignore[arg-type]

    monkeypatch.setattr(softmax, "sdpa_kernel", counting)
    c = Case(1, 2, 64, 16, False, "fp32", {}, "softmax.sdpa_math", "fwd")
    r = measure_case(variants.get("softmax.sdpa_math"), c, CpuDevice(), FAST, METER)
    assert r.status == "ok" and r.metrics["time/samples"] >= 3
    assert len(entered) == 1  # setup, check, warm-up, samples, memory: one context
