"""Measure one case end to end: support, correctness, setup, time, memory, energy.

Order matters and is fixed: the case's inputs are built and the setup phase (compilation,
block masks) is timed on them first, so no earlier call can have compiled the shape already;
then the correctness check runs on its own (reduced) inputs, outside every later window; then
the timing loop warms up and samples, one more call is watched for peak memory, and the
energy window runs last.
"""

from __future__ import annotations

import gc
import os
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from attnbench.case import Case
from attnbench.devices.base import Device
from attnbench.devices.peaks import GpuPeak, peak_tflops
from attnbench.errors import UnsupportedCase
from attnbench.measure.check import check_case
from attnbench.measure.compiles import compile_count
from attnbench.measure.contention import CPU_CONTENDED, ContentionReport, ContentionWindow
from attnbench.measure.energy import EnergyMeter
from attnbench.measure.timing import STOP_CONVERGED, TimingResult, measure
from attnbench.metrics.derived import model_metrics, rate_metrics, roofline
from attnbench.results.fingerprint import fingerprint
from attnbench.results.schema import (
    STATUS_FAILED,
    STATUS_OK,
    STATUS_OOM,
    STATUS_SKIPPED,
    CaseResult,
)
from attnbench.suite.schema import TimingSettings
from attnbench.variants.base import Inputs, Variant

CONVERGED_REASONS = (STOP_CONVERGED, "ratio_converged")
"""Stop reasons that met a precision target (anything else warns ``NOT_CONVERGED``)."""

HIGH_NOISE_REL_IQR = 0.10
"""``HIGH_NOISE`` above this relative IQR (torch.utils.benchmark's "system fluctuation" level)."""


@dataclass(frozen=True)
class BenchSettings:
    """What :func:`measure_case` needs from the suite and the command line.

    ``peak`` is the device's entry in the peak table (None for CPUs and unknown GPUs), used
    for ``throughput/pct_peak``. ``threads`` is the torch intra-op thread count of the run
    (None: torch's default); an isolated worker process sets it before measuring.
    """

    timing: TimingSettings
    check: str = "reduced"
    seed: int = 0
    peak: GpuPeak | None = None
    threads: int | None = None


def make_call(variant: Variant, inputs: Inputs, case: Case) -> Callable[[], object]:
    """The zero-argument callable that is timed for ``case.pass_``.

    * ``fwd``: the forward alone. No input requires grad in a fwd case, so autograd records
      nothing; a ``no_grad`` context per call would only add host time to the timed region.
    * ``fwd_bwd``: forward then ``autograd.grad`` of a fixed output gradient into the inputs;
      gradients are returned, never accumulated, so nothing needs resetting between calls.
    * ``bwd``: one untimed forward keeps its graph; each call is ``autograd.grad`` with
      ``retain_graph=True`` through it.
    """
    if case.pass_ == "fwd":

        def fwd() -> object:
            return variant(inputs, case)

        return fwd
    names = [k for k in variant.info.grad_inputs if k in inputs and inputs[k].is_floating_point()]
    leaves = [inputs[k].requires_grad_(True) for k in names]
    probe = variant(inputs, case)  # in the timed grad mode: a compiled kernel must not recompile
    gen = torch.Generator().manual_seed(1234)
    grad_out = torch.randn(probe.shape, generator=gen).to(probe)
    del probe
    if case.pass_ == "fwd_bwd":

        def fwd_bwd() -> object:
            out = variant(inputs, case)
            return torch.autograd.grad(out, leaves, grad_out)

        return fwd_bwd
    out = variant(inputs, case)

    def bwd() -> object:
        return torch.autograd.grad(out, leaves, grad_out, retain_graph=True)

    return bwd


def _resolved_params(variant: Variant, case: Case) -> dict[str, Any]:
    params = case.to_dict()
    for p in variant.info.params:
        params.setdefault(p.name, p.default)
    return params


def skeleton(variant: Variant, case: Case) -> CaseResult:
    return CaseResult(
        case_id=case.case_id,
        variant=variant.info.name,
        params=_resolved_params(variant, case),
        status=STATUS_OK,
        fingerprint=fingerprint(variant, case),
        models={
            "flops": variant.info.flops_model,
            "memory": variant.info.memory_complexity,
            "time": variant.info.time_complexity,
        },
    )


def _is_host_oom(exc: RuntimeError) -> bool:
    """C++ ``std::bad_alloc`` reaches Python as a RuntimeError naming it."""
    return "bad_alloc" in str(exc) or "DefaultCPUAllocator: can't allocate memory" in str(exc)


def raise_as_failed(result: CaseResult, exc: BaseException) -> None:
    """Record an unexpected exception as a ``failed`` case with its traceback."""
    result.status = STATUS_FAILED
    result.reason = f"{type(exc).__name__}: {exc}".strip()
    result.energy = {"traceback": traceback.format_exc(limit=6)}


def skip_reason(variant: Variant, case: Case, device: Device) -> str | None:
    """Why ``case`` cannot run on ``device`` (a ``skipped`` status), or None."""
    return (
        variant.unsupported(case, device.name)
        or device.dtype_problem(case.dtype)
        or device.pass_problem(case.pass_)
    )


@contextmanager
def recorded(result: CaseResult, device: Device) -> Iterator[None]:
    """Run the enclosed phase; an exception becomes ``result``'s status, never propagates.

    Unsupported shapes and missing kernels become ``skipped``, allocation failures ``oom``
    (then the allocator cache is emptied), anything else ``failed`` with its traceback.
    """
    try:
        yield
    except UnsupportedCase as exc:
        result.status, result.reason = STATUS_SKIPPED, str(exc)
    except NotImplementedError as exc:
        result.status = STATUS_SKIPPED
        result.reason = f"not implemented by torch or the variant: {exc}".strip()
    except (torch.OutOfMemoryError, MemoryError) as exc:
        result.status, result.reason = STATUS_OOM, (str(exc) or type(exc).__name__).splitlines()[0]
    except RuntimeError as exc:
        if not _is_host_oom(exc):
            raise_as_failed(result, exc)
        else:
            result.status = STATUS_OOM
            result.reason = f"host memory exhausted: {str(exc).splitlines()[0]}"
    except Exception as exc:
        raise_as_failed(result, exc)
    if result.status == STATUS_OOM:
        gc.collect()
        device.empty_cache()


@dataclass
class Prepared:
    """A case ready to sample: the timed callable and its dynamo compile counts.

    ``later_compiles`` counts compilations from the callable's construction on, in the
    phases that belong to this case (:meth:`counting`); a comparison group counts each
    member's own phases only, so one member's setup is never another's recompile.
    """

    call: Callable[[], object]
    setup_compiles: int
    later_compiles: int = 0

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Add the compilations of the enclosed phase to ``later_compiles``."""
        before = compile_count()
        try:
            yield
        finally:
            self.later_compiles += compile_count() - before


def measure_case(
    variant: Variant, case: Case, device: Device, settings: BenchSettings, meter: EnergyMeter
) -> CaseResult:
    """Run every phase for ``case``; failures become statuses, never exceptions."""
    result = skeleton(variant, case)
    started = time.perf_counter()
    why = skip_reason(variant, case, device)
    if why:
        result.status, result.reason = STATUS_SKIPPED, why
        return result
    try:
        with recorded(result, device), variant.call_context(case):
            prepared = prepare(result, variant, case, device, settings)
            if prepared is not None:
                with prepared.counting(), ContentionWindow() as window:
                    timing = measure(prepared.call, device, settings.timing)
                finish(result, variant, case, device, settings, meter, prepared, timing,
                       window.report)
    finally:
        device.end_case()  # captured CUDA graphs hold pools and inputs: free them per case
        result.duration_s = time.perf_counter() - started
    return result


def prepare(
    result: CaseResult,
    variant: Variant,
    case: Case,
    device: Device,
    settings: BenchSettings,
    share: Callable[[Inputs], Inputs] | None = None,
) -> Prepared | None:
    """Inputs, setup phase and correctness check; the timed callable, or None when the
    check failed (``result`` then says why).

    ``share`` may swap some of the freshly made inputs for equal tensors that already exist
    (a comparison group's shared q, k, v); it runs before the setup phase.
    """
    models = model_metrics(variant, case)
    result.metrics.update(models)
    inputs = variant.make_inputs(case, device.torch_device, settings.seed)
    if share is not None:
        inputs = share(inputs)
    result.metrics["memory/inputs_bytes"] = float(
        sum(t.numel() * t.element_size() for t in inputs.values())
    )
    t0, compiles0 = time.perf_counter(), compile_count()
    variant.setup(inputs, case)
    device.synchronize()
    result.metrics["time/setup_ms"] = (time.perf_counter() - t0) * 1e3
    setup_compiles = compile_count() - compiles0
    if settings.check != "off":
        check = check_case(variant, case, device.torch_device, settings.seed, settings.check)
        result.check = check.to_dict()
        result.metrics.update(check.metrics())
        if not check.passed:
            result.status = STATUS_FAILED
            result.reason = f"numerical check failed on {check.checked_id}: {check.reason}"
            result.warnings.append("NUMERICAL_MISMATCH")
            return None
    prepared = Prepared(lambda: None, setup_compiles)
    with prepared.counting():
        prepared.call = make_call(variant, inputs, case)
    # asked only now: make_call set requires_grad, and CUDA backend choice depends on it
    result.backend = variant.backend(inputs, case)
    if result.backend == "sdpa.math" and variant.info.name != "softmax.sdpa_math":
        # torch picked its materialising math kernel over every fused one for these shapes
        result.warnings.append("BACKEND_FALLBACK")
    return prepared


def finish(
    result: CaseResult,
    variant: Variant,
    case: Case,
    device: Device,
    settings: BenchSettings,
    meter: EnergyMeter,
    prepared: Prepared,
    timing: TimingResult,
    contention: ContentionReport | None = None,
) -> None:
    """Store the samples and their metrics and warnings, then the memory and energy windows.

    ``contention`` is the sampling window's evidence of CPU contention (None: not observed).
    """
    result.models["time_mode"] = device.time_mode
    result.samples = timing.samples_ms
    result.stop_reason = timing.stop_reason
    result.metrics.update(timing.metrics())
    result.metrics.update(rate_metrics(result.metrics, case, timing.summary.median_ms))
    _percent_of_peak(result, case, settings.peak)
    result.warnings.extend(w for w in timing.warnings if w not in result.warnings)
    if timing.stop_reason not in CONVERGED_REASONS:
        result.warnings.append("NOT_CONVERGED")
    if timing.summary.count > 1 and timing.summary.rel_iqr > HIGH_NOISE_REL_IQR:
        result.warnings.append("HIGH_NOISE")
    _note_contention(result, device, contention)
    with prepared.counting():
        _measure_memory(result, prepared.call, device)
        _measure_energy(result, prepared.call, device, meter, case, timing.summary.median_ms / 1e3)
    _note_compiles(result, prepared.setup_compiles, prepared.later_compiles)


def _note_compiles(result: CaseResult, setup: int, later: int) -> None:
    """Store dynamo compilations of setup and of every later phase; warn ``RECOMPILED``.

    ``later`` counts compiles from the timed callable's construction to the end of the energy
    window (the correctness check's reduced shape is not counted): anything but 0 means the
    kernel compiled in setup is not the one that was timed.
    """
    if not (setup or later or result.backend.startswith("flex.")):
        return
    result.metrics["compile/setup_compiles"] = float(setup)
    result.metrics["compile/recompiles"] = float(later)
    if later:
        result.warnings.append("RECOMPILED")


def host_load() -> float | None:
    """The host's 1-minute load average (None where the OS does not report one)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask), not the host's total."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _note_contention(result: CaseResult, device: Device, report: ContentionReport | None) -> None:
    """Store the sampling window's contention evidence; on CPU, warn ``CPU_CONTENDED``.

    The judgement is the process's own (involuntary context switches while sampling, see
    :mod:`attnbench.measure.contention`). The 1-minute load average is kept beside it as
    context only: it reacts late and lingers after the load is gone.
    """
    load = host_load()
    if load is not None:
        result.metrics["host/load_avg_1m"] = load
    if report is None:
        return
    result.metrics.update(report.metrics())
    if device.kind == "cpu" and report.contended:
        result.warnings.append(CPU_CONTENDED)


def _percent_of_peak(result: CaseResult, case: Case, peak: GpuPeak | None) -> None:
    allow_tf32 = bool(torch.backends.cuda.matmul.allow_tf32)
    gbps = result.metrics.get("throughput/gbps")
    roof = roofline(result.metrics, case.dtype, peak, gbps, allow_tf32=allow_tf32)
    result.metrics.update(roof.metrics)
    result.models["bound"] = roof.bound  # memory | compute | unknown (no peak known)
    if peak is None or "throughput/tflops" not in result.metrics:
        return
    top = peak_tflops(peak, case.dtype, allow_tf32=allow_tf32)
    if top:
        result.metrics["throughput/pct_peak"] = 100.0 * result.metrics["throughput/tflops"] / top


@contextmanager
def quiet_heap() -> Iterator[None]:
    """Collect the young generations, then keep the cyclic collector off inside the block.

    A collection inside a memory window could free tensors an earlier call left in reference
    cycles and hide part of the kernel's own peak; reference counting still frees everything
    else at once. Only generations 0 and 1 are collected: they hold what this case just made,
    while the long-lived objects (modules, the suite, finished results) sit in the oldest
    generation or are frozen by :func:`frozen_startup_heap`, so the cost does not grow with
    the run. A full ``gc.collect()`` here cost about 0.27 s per case.
    """
    gc.collect(1)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def frozen_startup_heap() -> Iterator[None]:
    """For a whole run: one full collection, then freeze every survivor (``gc.freeze``).

    Imports, the suite and the device are long-lived; frozen, the collector never scans them
    again, so the collections during the run only look at objects made since. The objects are
    unfrozen when the block ends (a library caller's heap is left as it was).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _measure_memory(result: CaseResult, call: Callable[[], object], device: Device) -> None:
    with quiet_heap(), device.memory_window() as mem:
        out = call()
        device.synchronize()
        del out
    if mem.peak_bytes is not None:
        result.metrics["memory/peak_bytes"] = float(mem.peak_bytes)
    if mem.peak_reserved_bytes is not None:
        result.metrics["memory/peak_reserved_bytes"] = float(mem.peak_reserved_bytes)
    if "rss_peak_bytes" in mem.details:
        result.metrics["memory/rss_peak_bytes"] = float(mem.details["rss_peak_bytes"])
    result.models["memory_method"] = mem.method
    result.models["memory_mode"] = "eager_one_call"  # a graph replay allocates nothing new


def _measure_energy(
    result: CaseResult,
    call: Callable[[], object],
    device: Device,
    meter: EnergyMeter,
    case: Case,
    per_call_s: float,
) -> None:
    repeat = device.energy_call(call)  # the graph replay in graph mode, as timed

    def run_calls(n: int) -> None:
        for _ in range(n):
            repeat()
        device.synchronize()

    report = meter.measure(run_calls, per_call_s, case)
    result.metrics.update(report.metrics)
    result.warnings.extend(w for w in report.warnings if w not in result.warnings)
    result.energy = {"method": report.method, "reason": report.reason, **dict(report.details)}
    result.models["energy_mode"] = device.energy_mode
