"""Roofline: arithmetic intensity, the ridge point, which bound applies, % of peak bandwidth."""

from __future__ import annotations

import pytest

from attnbench import Case, variants
from attnbench.devices.peaks import GpuPeak
from attnbench.metrics.catalog import CATALOG
from attnbench.metrics.derived import model_metrics, rate_metrics, roofline

PEAK = GpuPeak("test", "Test GPU", {"fp32": 50.0, "tf32": 400.0, "fp16": 1000.0,
               "bf16": 1000.0}, 4000.0, "test")  # fmt: skip


def test_decoding_is_memory_bound_and_reports_bandwidth() -> None:
    case = Case(1, 32, 1, 128, True, "bf16", {}, "softmax.sdpa", heads_kv=4, seq_len_kv=32768)
    models = model_metrics(variants.get("softmax.sdpa"), case)
    rates = rate_metrics(models, case, median_ms=0.05)
    assert rates["throughput/gbps"] == pytest.approx(models["bytes/moved"] / 0.05e-3 / 1e9)
    roof = roofline(models, "bf16", PEAK, rates["throughput/gbps"])
    # 2·8 FLOPs per (bf16, 2-byte) cached element pair: intensity ~ 8·256·2 / (2·256) = 8
    assert roof.metrics["flops/intensity"] == pytest.approx(
        models["flops/count"] / models["bytes/moved"]
    )
    assert 7.9 < roof.metrics["flops/intensity"] < 8.0
    assert roof.metrics["device/ridge_flop_per_byte"] == pytest.approx(1000e12 / 4000e9)  # 250
    assert roof.bound == "memory"
    assert roof.metrics["throughput/pct_peak_bandwidth"] == pytest.approx(
        100 * rates["throughput/gbps"] / 4000.0
    )


def test_long_square_attention_is_compute_bound() -> None:
    case = Case(1, 16, 8192, 128, True, "bf16", {}, "softmax.sdpa")
    models = model_metrics(variants.get("softmax.sdpa"), case)
    roof = roofline(models, "bf16", PEAK)
    assert roof.bound == "compute" and roof.metrics["flops/intensity"] > 250
    assert "throughput/pct_peak_bandwidth" not in roof.metrics  # no GB/s given


def test_ridge_follows_the_dtype_and_tf32() -> None:
    models = {"flops/count": 50.0 * 4, "bytes/moved": 4.0}  # intensity 50
    assert roofline(models, "fp32", PEAK).bound == "compute"  # ridge 12.5
    tf32 = roofline(models, "fp32", PEAK, allow_tf32=True)
    assert tf32.bound == "memory" and tf32.metrics["device/ridge_flop_per_byte"] == 100.0


def test_bound_is_unknown_without_a_peak() -> None:
    roof = roofline({"flops/count": 10.0, "bytes/moved": 5.0}, "fp32", None, gbps=3.0)
    assert roof.bound == "unknown" and roof.metrics == {"flops/intensity": 2.0}


def test_new_metrics_are_in_the_catalog() -> None:
    assert CATALOG["throughput/pct_peak_bandwidth"].unit == "%"
    assert CATALOG["throughput/pct_peak_bandwidth"].direction == "higher"
    assert CATALOG["flops/intensity"].unit == "FLOP/byte"
    assert CATALOG["device/ridge_flop_per_byte"].direction == "none"
    assert CATALOG["throughput/gbps"].direction == "higher"


def test_exactly_at_the_ridge_is_compute_bound() -> None:
    # fp16: 1000 TFLOP/s over 4000 GB/s is a ridge of exactly 250 FLOP/byte
    at_ridge = {"flops/count": 250.0 * 8, "bytes/moved": 8.0}
    assert roofline(at_ridge, "fp16", PEAK).bound == "compute"
    below = {"flops/count": 249.0 * 8, "bytes/moved": 8.0}
    assert roofline(below, "fp16", PEAK).bound == "memory"


def test_unknown_metrics_are_described_and_the_catalog_keeps_every_field() -> None:
    from attnbench.metrics.catalog import catalog_dict, metric

    unknown = metric("my/own_metric")
    assert (unknown.key, unknown.unit, unknown.direction) == ("my/own_metric", "", "none")
    assert unknown.description == "not in the catalog"
    table = catalog_dict()
    assert set(table) == set(CATALOG)
    entry = table["time/median_ms"]
    assert "key" not in entry and set(entry) >= {"unit", "direction", "description"}
    assert entry["direction"] == "lower"


def test_rates_at_a_known_median() -> None:
    case = Case(2, 4, 1000, 64, False, "fp32", {}, "softmax.naive")  # 2000 query tokens
    models = {"flops/count": 3e9, "bytes/moved": 5e6}
    # 0.5 ms per call: 3e9 FLOP / 5e-4 s = 6 TFLOP/s, 5e6 B / 5e-4 s = 10 GB/s, 4e6 tokens/s
    assert rate_metrics(models, case, median_ms=0.5) == {
        "throughput/tflops": pytest.approx(6.0, rel=1e-14),
        "throughput/gbps": pytest.approx(10.0, rel=1e-14),
        "throughput/tokens_per_s": pytest.approx(4e6, rel=1e-14),
    }


def test_no_rates_without_a_positive_median() -> None:
    case = Case(1, 1, 8, 4, variant="softmax.naive")
    models = {"flops/count": 1.0, "bytes/moved": 1.0}
    assert rate_metrics(models, case, median_ms=0.0) == {}
    assert rate_metrics(models, case, median_ms=-1.0) == {}


def test_model_metrics_are_the_variants_models() -> None:
    variant = variants.get("softmax.naive")
    case = Case(1, 2, 64, 16, False, "fp32", {}, "softmax.naive")
    assert model_metrics(variant, case) == {
        "flops/count": float(variant.flops(case)),
        "flops/exp_count": float(variant.exp_count(case)),
        "bytes/moved": float(variant.bytes_moved(case)),
        "memory/estimate_bytes": float(variant.memory_bytes(case)),
    }


def test_no_bound_without_bytes_or_a_usable_peak() -> None:
    # nothing moved: no intensity, and no bound even with a peak
    assert roofline({"flops/count": 10.0, "bytes/moved": 0.0}, "fp16", PEAK) == (
        roofline({"flops/count": 10.0, "bytes/moved": 0.0}, "fp16", None)
    )
    assert roofline({"flops/count": 10.0, "bytes/moved": 0.0}, "fp16", PEAK).metrics == {}
    # under one byte is still bytes: intensity 20 FLOP/byte
    small = roofline({"flops/count": 10.0, "bytes/moved": 0.5}, "fp16", PEAK)
    assert small.bound == "memory" and small.metrics["flops/intensity"] == 20.0
    # a peak without bandwidth, or without a FLOP peak for the dtype, gives no ridge
    no_bw = GpuPeak("t", "T", {"fp16": 1000.0}, 0.0, "test")
    assert roofline({"flops/count": 10.0, "bytes/moved": 5.0}, "fp16", no_bw, 3.0) == (
        roofline({"flops/count": 10.0, "bytes/moved": 5.0}, "fp16", None)
    )
    unknown_dtype = roofline({"flops/count": 10.0, "bytes/moved": 5.0}, "fp64", PEAK, 3.0)
    assert unknown_dtype.bound == "unknown" and unknown_dtype.metrics == {"flops/intensity": 2.0}


def test_a_slow_memory_peak_still_has_a_ridge() -> None:
    # 1 GB/s and 1 TFLOP/s: a ridge of 1000 FLOP/byte; 0.5 GB/s gives 2000
    for gbps, ridge in ((1.0, 1000.0), (0.5, 2000.0)):
        slow = GpuPeak("t", "T", {"fp16": 1.0}, gbps, "test")
        roof = roofline({"flops/count": 10.0, "bytes/moved": 5.0}, "fp16", slow, 0.25)
        assert roof.bound == "memory"
        assert roof.metrics == {
            "flops/intensity": 2.0,
            "device/ridge_flop_per_byte": pytest.approx(ridge),
            "throughput/pct_peak_bandwidth": pytest.approx(25.0 / gbps),
        }
