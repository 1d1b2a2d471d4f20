"""Peak table lookup by the names torch and NVML report."""

from __future__ import annotations

import pytest

from attnbench.devices.peaks import BY_KEY, DTYPES, PEAKS, lookup_peak, normalize_name, peak_tflops


@pytest.mark.parametrize(
    ("name", "memory", "key"),
    [
        ("NVIDIA H100 80GB HBM3", None, "h100_sxm"),
        ("NVIDIA H100 PCIe", None, "h100_pcie"),
        ("NVIDIA H200", None, "h200_sxm"),
        ("NVIDIA A100-SXM4-40GB", None, "a100_sxm_40gb"),
        ("NVIDIA A100-SXM4-80GB", None, "a100_sxm_80gb"),
        ("NVIDIA A100 80GB PCIe", None, "a100_pcie_80gb"),
        ("NVIDIA A100-PCIE-40GB", None, "a100_pcie_40gb"),
        ("NVIDIA A100-SXM4", 85_000_000_000, "a100_sxm_80gb"),
        ("NVIDIA L4", None, "l4"),
        ("NVIDIA L40S", None, "l40s"),
        ("NVIDIA A10", None, "a10"),
        ("NVIDIA GeForce RTX 4090", None, "rtx_4090"),
        ("NVIDIA GeForce RTX 3090", None, "rtx_3090"),
        ("Tesla V100-SXM2-16GB", None, "v100_sxm2"),
        ("Tesla V100-PCIE-32GB", None, "v100_pcie"),
        ("Tesla T4", None, "t4"),
        ("NVIDIA B200", None, "b200"),
    ],
)
def test_lookup_by_reported_name(name: str, memory: int | None, key: str) -> None:
    found = lookup_peak(name, memory)
    assert found.peak is not None, found.reason
    assert found.peak.key == key


@pytest.mark.parametrize(
    "name", ["NVIDIA A10G", "NVIDIA GeForce RTX 3090 Ti", "NVIDIA H100 NVL", "AMD Instinct MI300X"]
)
def test_unknown_or_different_gpu_is_none_with_reason(name: str) -> None:
    found = lookup_peak(name)
    assert found.peak is None
    assert name in found.reason
    assert "peaks.py" in found.reason


def test_normalize_name() -> None:
    assert normalize_name("NVIDIA A100-SXM4-80GB") == "a100 sxm4 80gb"
    assert normalize_name("Tesla T4") == "t4"


def test_table_is_dense_and_sourced() -> None:
    for peak in PEAKS:
        assert set(peak.tflops) == set(DTYPES)
        assert peak.source
        assert peak.memory_gbps > 0
        fp16 = peak.tflops["fp16"]
        assert fp16 is not None and fp16 > (peak.tflops["fp32"] or 0)
    h100 = BY_KEY["h100_sxm"]
    assert h100.tflops["bf16"] == pytest.approx(989.4)  # 1979 with sparsity, halved
    assert BY_KEY["a100_sxm_80gb"].memory_gbps == 2039


def test_peak_tflops_dtype() -> None:
    a100 = BY_KEY["a100_sxm_80gb"]
    assert peak_tflops(a100, "fp32") == 19.5
    assert peak_tflops(a100, "fp32", allow_tf32=True) == 156
    assert peak_tflops(BY_KEY["t4"], "bf16") is None
    assert peak_tflops(BY_KEY["t4"], "fp32", allow_tf32=True) == 8.1
    assert BY_KEY["l40s"].to_dict()["tflops"]["bf16"] == 362.05


@pytest.mark.parametrize(
    "name",
    [
        "NVIDIA A100-SXM4-40GB MIG 3g.20gb",
        "NVIDIA H100 80GB HBM3 MIG 1g.10gb",
        "NVIDIA A100-SXM4-80GB MIG 7g.80gb",  # even the whole-chip profile: a MIG device
    ],
)
def test_mig_instances_get_no_peak(name: str) -> None:
    found = lookup_peak(name)
    assert found.peak is None
    assert "MIG instance" in found.reason


def test_fewer_sms_than_the_full_chip_get_no_peak() -> None:
    full = lookup_peak("NVIDIA H100 80GB HBM3", sm_count=132)
    assert full.peak is not None and full.peak.sm_count == 132
    slice_ = lookup_peak("NVIDIA H100 80GB HBM3", sm_count=16)
    assert slice_.peak is None
    assert "16 of the 132 SMs" in slice_.reason
    assert lookup_peak("NVIDIA H100 80GB HBM3", sm_count=None).peak is not None


def test_every_row_knows_its_full_sm_count() -> None:
    assert all(p.sm_count > 0 for p in PEAKS)
