"""Dense peak throughput and memory bandwidth of common NVIDIA GPUs, with sources.

Figures are vendor datasheet numbers *without* structured sparsity (datasheets print the sparse
figure with an asterisk: the dense one is half). Tensor-core fp16/bf16 figures assume FP32
accumulation, which is what PyTorch uses (GeForce cards run FP16-accumulate at twice that).
``fp32`` is the non-tensor CUDA-core rate; ``tf32`` the tensor-core rate used when
``torch.backends.cuda.matmul.allow_tf32`` is on. None means the GPU has no such path.

Lookup goes by the name torch or NVML reports (``NVIDIA H100 80GB HBM3`` → H100 SXM), with the
device memory to split variants the name does not (A100 40/80 GB). A MIG instance
(``NVIDIA A100-SXM4-40GB MIG 3g.20gb``), or any device with fewer SMs than the full chip, gets
no peak: a slice has a fraction of the chip's SMs and memory bandwidth, and % of peak against
the whole chip would be wrong by that fraction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

DTYPES = ("fp32", "tf32", "fp16", "bf16")


@dataclass(frozen=True)
class GpuPeak:
    """One row of the peak table.

    Attributes:
        key: stable id (``h100_sxm``).
        name: product name.
        tflops: dense peak TFLOP/s per dtype (``fp32``, ``tf32``, ``fp16``, ``bf16``).
        memory_gbps: peak DRAM bandwidth, GB/s (10^9 bytes/s).
        source: where the figures come from.
        sm_count: SMs of the full product (0 = unknown); fewer SMs means a slice.
    """

    key: str
    name: str
    tflops: Mapping[str, float | None]
    memory_gbps: float
    source: str
    sm_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tflops"] = dict(self.tflops)
        return out


def _row(
    key: str,
    name: str,
    fp32: float,
    tf32: float | None,
    fp16: float,
    bf16: float | None,
    gbps: float,
    source: str,
) -> GpuPeak:
    return GpuPeak(
        key, name, {"fp32": fp32, "tf32": tf32, "fp16": fp16, "bf16": bf16}, gbps, source
    )


_A100 = "NVIDIA A100 Tensor Core GPU datasheet (nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf)"
_H100 = "NVIDIA H100 Tensor Core GPU datasheet (SXM / PCIe columns; sparse figures halved)"

PEAKS: tuple[GpuPeak, ...] = (
    _row("a100_sxm_40gb", "A100 SXM4 40GB", 19.5, 156, 312, 312, 1555, _A100),
    _row("a100_sxm_80gb", "A100 SXM4 80GB", 19.5, 156, 312, 312, 2039, _A100),
    _row("a100_pcie_40gb", "A100 PCIe 40GB", 19.5, 156, 312, 312, 1555, _A100),
    _row("a100_pcie_80gb", "A100 PCIe 80GB", 19.5, 156, 312, 312, 1935, _A100),
    _row("h100_sxm", "H100 SXM5 80GB", 67, 494.7, 989.4, 989.4, 3350, _H100),
    _row("h100_pcie", "H100 PCIe 80GB", 51, 378, 756, 756, 2000, _H100),
    _row(
        "h200_sxm",
        "H200 SXM 141GB",
        67,
        494.7,
        989.4,
        989.4,
        4800,
        "NVIDIA H200 Tensor Core GPU datasheet (SXM column; same GH100 compute as H100 SXM)",
    ),
    _row(
        "b200",
        "B200 (HGX, 1000 W)",
        75,
        1100,
        2250,
        2250,
        7700,
        "NVIDIA HGX B200 datasheet, per-GPU specifications (sparse figures halved)",
    ),
    _row("l4", "L4", 30.3, 60, 121, 121, 300, "NVIDIA L4 Tensor Core GPU datasheet"),
    _row("l40s", "L40S", 91.6, 183, 362.05, 362.05, 864, "NVIDIA L40S datasheet"),
    _row("a10", "A10", 31.2, 62.5, 125, 125, 600, "NVIDIA A10 Tensor Core GPU datasheet"),
    _row(
        "rtx_4090",
        "GeForce RTX 4090",
        82.6,
        82.6,
        165.2,
        165.2,
        1008,
        "NVIDIA Ada GPU architecture whitepaper, RTX 4090 column (FP32 accumulate)",
    ),
    _row(
        "rtx_3090",
        "GeForce RTX 3090",
        35.6,
        35.6,
        71,
        71,
        936,
        "NVIDIA Ampere GA102 GPU architecture whitepaper, RTX 3090 column (FP32 accumulate)",
    ),
    _row(
        "v100_sxm2",
        "V100 SXM2",
        15.7,
        None,
        125,
        None,
        900,
        "NVIDIA Tesla V100 datasheet (SXM2 column)",
    ),
    _row(
        "v100_pcie",
        "V100 PCIe",
        14,
        None,
        112,
        None,
        900,
        "NVIDIA Tesla V100 datasheet (PCIe column)",
    ),
    _row("t4", "T4", 8.1, None, 65, None, 320, "NVIDIA T4 Tensor Core GPU datasheet"),
)
FULL_SM_COUNT: dict[str, int] = {
    "a100_sxm_40gb": 108,
    "a100_sxm_80gb": 108,
    "a100_pcie_40gb": 108,
    "a100_pcie_80gb": 108,
    "h100_sxm": 132,
    "h100_pcie": 114,
    "h200_sxm": 132,
    "b200": 148,
    "l4": 58,
    "l40s": 142,
    "a10": 72,
    "rtx_4090": 128,
    "rtx_3090": 82,
    "v100_sxm2": 80,
    "v100_pcie": 80,
    "t4": 40,
}
"""SMs enabled on each full product (NVIDIA datasheets and architecture whitepapers)."""
PEAKS = tuple(
    GpuPeak(p.key, p.name, p.tflops, p.memory_gbps, p.source, FULL_SM_COUNT.get(p.key, 0))
    for p in PEAKS
)
BY_KEY: dict[str, GpuPeak] = {p.key: p for p in PEAKS}
_MIG_PROFILE = re.compile(r"\b\d+g\.\d+gb\b", re.IGNORECASE)


def normalize_name(name: str) -> str:
    """Lowercase words of a GPU name without vendor/brand noise (``nvidia``, ``tesla``...)."""
    text = name.lower().replace("-", " ").replace("_", " ")
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w]
    return " ".join(w for w in words if w not in {"nvidia", "tesla", "geforce"})


def _has(words: list[str], *tokens: str) -> bool:
    return all(t in words for t in tokens)


def _a100_key(words: list[str], memory_bytes: int | None) -> str:
    form = "pcie" if "pcie" in words else "sxm"
    if "80gb" in words:
        size = "80gb"
    elif "40gb" in words:
        size = "40gb"
    else:
        size = "80gb" if memory_bytes and memory_bytes > 50 * 10**9 else "40gb"
    return f"a100_{form}_{size}"


def _match_key(words: list[str], memory_bytes: int | None) -> str | None:
    if "a100" in words:
        return _a100_key(words, memory_bytes)
    if "h100" in words:
        if "pcie" in words:
            return "h100_pcie"
        if "nvl" in words:
            return None
        return "h100_sxm"
    if "h200" in words:
        return None if "nvl" in words else "h200_sxm"
    if "b200" in words:
        return "b200"
    if "l40s" in words:
        return "l40s"
    if "l4" in words:
        return "l4"
    if "a10" in words:
        return "a10"
    if _has(words, "rtx", "4090"):
        return None if any(w in words for w in ("laptop", "mobile", "d")) else "rtx_4090"
    if _has(words, "rtx", "3090"):
        return None if any(w in words for w in ("ti", "laptop")) else "rtx_3090"
    if "v100" in words:
        return "v100_pcie" if "pcie" in words else "v100_sxm2"
    if "t4" in words:
        return "t4"
    return None


@dataclass(frozen=True)
class PeakLookup:
    """Result of :func:`lookup_peak`: the row, or None and why."""

    peak: GpuPeak | None
    reason: str = ""


def is_mig_name(name: str) -> bool:
    """True for a MIG instance's name: a ``MIG`` word or a profile such as ``3g.20gb``."""
    return "mig" in normalize_name(name).split() or bool(_MIG_PROFILE.search(name))


def lookup_peak(
    name: str, memory_bytes: int | None = None, sm_count: int | None = None
) -> PeakLookup:
    """Find the peak row for a GPU name as torch or NVML reports it.

    Args:
        name: e.g. ``NVIDIA H100 80GB HBM3``, ``NVIDIA A100-SXM4-40GB``, ``Tesla T4``.
        memory_bytes: device memory, bytes (splits A100 40/80 GB when the name does not).
        sm_count: the device's SM count; fewer than the full product's means a slice.

    Returns:
        The row, or ``peak=None`` with a reason (unknown or ambiguous GPU, MIG slice).
    """
    if is_mig_name(name):
        return PeakLookup(
            None,
            f"{name!r} is a MIG instance: it has a fraction of the chip's SMs and bandwidth, "
            "so no peak (and no % of peak) is given",
        )
    key = _match_key(normalize_name(name).split(), memory_bytes)
    if key is None:
        return PeakLookup(
            None,
            f"no peak entry for GPU {name!r}: add its datasheet figures to "
            "attnbench/devices/peaks.py",
        )
    peak = BY_KEY[key]
    if sm_count is not None and 0 < sm_count < peak.sm_count:
        return PeakLookup(
            None,
            f"{name!r} has {sm_count} of the {peak.sm_count} SMs of a full {peak.name} "
            "(a MIG slice or a cut-down part): no peak is given",
        )
    return PeakLookup(peak)


def peak_tflops(peak: GpuPeak, dtype: str, *, allow_tf32: bool = False) -> float | None:
    """Dense peak TFLOP/s for matmuls in ``dtype`` (fp32 uses TF32 when ``allow_tf32``)."""
    if dtype == "fp32" and allow_tf32 and peak.tflops.get("tf32"):
        return peak.tflops["tf32"]
    return peak.tflops.get(dtype)
