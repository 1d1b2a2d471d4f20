"""Metrics derived from a median time and the variant's analytic models.

Which roof binds a case (the roofline model): a kernel whose arithmetic intensity (modelled
FLOPs per modelled byte moved) sits below the device's ridge point (peak FLOP/s over peak
bytes/s) cannot reach the FLOP peak even when it saturates memory, so it is *memory-bound* and
its achieved GB/s against the peak bandwidth is the figure that matters (decoding: one query
against a long cache, intensity ~ 2·H/H_kv FLOP/byte). At or above the ridge it is
*compute-bound* and TFLOP/s against the dense peak matters. Without a known peak (CPUs,
GPUs missing from the peak table) the bound is ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass

from attnbench.case import Case
from attnbench.devices.peaks import GpuPeak, peak_tflops
from attnbench.variants.base import Variant

BOUND_MEMORY = "memory"
BOUND_COMPUTE = "compute"
BOUND_UNKNOWN = "unknown"


def model_metrics(variant: Variant, case: Case) -> dict[str, float]:
    """FLOP, exponential, bytes and memory-estimate counts for ``case`` (no timing needed)."""
    return {
        "flops/count": float(variant.flops(case)),
        "flops/exp_count": float(variant.exp_count(case)),
        "bytes/moved": float(variant.bytes_moved(case)),
        "memory/estimate_bytes": float(variant.memory_bytes(case)),
    }


def rate_metrics(models: dict[str, float], case: Case, median_ms: float) -> dict[str, float]:
    """TFLOP/s, GB/s and tokens/s at ``median_ms`` per call."""
    if median_ms <= 0:
        return {}
    seconds = median_ms / 1e3
    return {
        "throughput/tflops": models["flops/count"] / seconds / 1e12,
        "throughput/gbps": models["bytes/moved"] / seconds / 1e9,
        "throughput/tokens_per_s": case.tokens / seconds,
    }


@dataclass(frozen=True)
class Roofline:
    """Where a case sits on the device's roofline.

    Attributes:
        bound: ``memory`` | ``compute`` | ``unknown`` (no peak known for the device).
        metrics: ``flops/intensity`` (FLOP/byte) always; with a peak also
            ``device/ridge_flop_per_byte`` and, given a measured GB/s,
            ``throughput/pct_peak_bandwidth``.
    """

    bound: str
    metrics: dict[str, float]


def roofline(
    models: dict[str, float],
    dtype: str,
    peak: GpuPeak | None,
    gbps: float | None = None,
    allow_tf32: bool = False,
) -> Roofline:
    """Arithmetic intensity, the ridge point and the binding roof for one case.

    Args:
        models: :func:`model_metrics` of the case (``flops/count``, ``bytes/moved``).
        dtype: the case dtype (picks the dense peak).
        peak: the device's peak-table entry; None on CPUs and unknown GPUs.
        gbps: achieved GB/s (``throughput/gbps``), when measured.
        allow_tf32: fp32 matmuls run as TF32 (the TF32 peak applies).
    """
    flops, moved = models["flops/count"], models["bytes/moved"]
    out: dict[str, float] = {}
    if moved > 0:
        out["flops/intensity"] = flops / moved
    top = peak_tflops(peak, dtype, allow_tf32=allow_tf32) if peak is not None else None
    if peak is None or not top or peak.memory_gbps <= 0 or moved <= 0:
        return Roofline(BOUND_UNKNOWN, out)
    ridge = top * 1e12 / (peak.memory_gbps * 1e9)
    out["device/ridge_flop_per_byte"] = ridge
    if gbps is not None:
        out["throughput/pct_peak_bandwidth"] = 100.0 * gbps / peak.memory_gbps
    return Roofline(BOUND_MEMORY if flops / moved < ridge else BOUND_COMPUTE, out)
