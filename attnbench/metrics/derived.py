"""Metrics derived from a median time and the variant's analytic models."""

from __future__ import annotations

from attnbench.case import Case
from attnbench.variants.base import Variant


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
