"""Window arithmetic, throttle decoding, the sampler and the NVML telemetry reader."""

from __future__ import annotations

import pytest

from attnbench.measure import power as pw
from attnbench.measure.nvml import NvmlSession
from attnbench.measure.power import Sample
from tests.measure.fake_nvml import FakeClock, FakeGpu, FakeNvml


def test_counter_energy_mj_to_j() -> None:
    assert pw.counter_energy_j(1000, 3500) == pytest.approx(2.5)


def test_stalled_counter_is_none_not_zero() -> None:
    assert pw.counter_energy_j(5000, 5000) is None
    assert pw.counter_energy_j(5000, 4000) is None


def test_trapezoid_is_pinned() -> None:
    times = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    powers = [100 + 100 * t * t for t in times]
    # 0.2 × (100/2 + 104 + 116 + 136 + 164 + 200/2) = 134 J (exact integral 133.3 J)
    assert pw.trapezoid_energy_j(times, powers) == pytest.approx(134.0)
    assert pw.trapezoid_energy_j([0.0], [5.0]) is None
    with pytest.raises(ValueError):
        pw.trapezoid_energy_j([0.0, 1.0], [1.0])


def test_achieved_period() -> None:
    assert pw.achieved_period_ms([0.0, 0.05, 0.1, 0.16]) == pytest.approx(160 / 3)
    assert pw.achieved_period_ms([1.0]) is None


def test_decode_reasons_names() -> None:
    assert pw.decode_reasons(0) == ()
    assert pw.decode_reasons(0x4 | 0x40) == ("SW_POWER_CAP", "HW_THERMAL")
    assert pw.decode_reasons(0x1 | 0x2) == ("GPU_IDLE", "APPLICATIONS_CLOCKS_SETTING")
    assert pw.decode_reasons(0x8 | 0x20 | 0x80) == ("HW_SLOWDOWN", "SW_THERMAL", "HW_POWER_BRAKE")
    assert pw.decode_reasons(0x1000) == ("UNKNOWN_0x1000",)


def test_reason_bits_match_pynvml_constants() -> None:
    import pynvml

    names = dict((name, bit) for bit, name in pw.REASON_BITS)
    assert names["SW_POWER_CAP"] == pynvml.nvmlClocksThrottleReasonSwPowerCap
    assert names["HW_SLOWDOWN"] == pynvml.nvmlClocksThrottleReasonHwSlowdown
    assert names["SW_THERMAL"] == pynvml.nvmlClocksThrottleReasonSwThermalSlowdown
    assert names["HW_THERMAL"] == pynvml.nvmlClocksThrottleReasonHwThermalSlowdown
    assert names["HW_POWER_BRAKE"] == pynvml.nvmlClocksThrottleReasonHwPowerBrakeSlowdown
    assert names["GPU_IDLE"] == pynvml.nvmlClocksThrottleReasonGpuIdle


def _s(t: float, sm: float, reasons: int = 0) -> Sample:
    return Sample(t_s=t, power_w=300.0, sm_mhz=sm, reasons=reasons)


def test_throttled_when_clock_falls_below_fraction() -> None:
    samples = [_s(0, 1980), _s(0.1, 1500, 0x4), _s(0.2, 1980)]
    out = pw.throttle_summary(samples, 1980, 0.9)
    assert out.throttled
    assert out.threshold_mhz == pytest.approx(1782)
    assert out.low_clock_samples == 1
    assert out.reasons_seen == ("SW_POWER_CAP",)
    assert out.throttling_seen == ("SW_POWER_CAP",)


def test_idle_and_app_clock_reasons_do_not_throttle() -> None:
    samples = [_s(0, 1980, 0x2), _s(0.1, 300, 0x1), _s(0.2, 1900)]
    out = pw.throttle_summary(samples, 1980, 0.9)
    assert not out.throttled
    assert out.reasons_seen == ("APPLICATIONS_CLOCKS_SETTING", "GPU_IDLE")
    assert out.throttling_seen == ()


def test_without_reference_clock_reasons_decide() -> None:
    assert pw.throttle_summary([_s(0, 1000, 0x40)], None, 0.9).throttled
    assert not pw.throttle_summary([_s(0, 1000, 0x1)], None, 0.9).throttled


def test_summarize_window_metrics() -> None:
    samples = [
        Sample(0.0, 100.0, 1980, 2619, 50, 90, 1000, 0),
        Sample(0.5, 300.0, 1800, 2619, 70, 100, 3000, 0),
        Sample(1.0, 200.0, 1900, 2619, 60, 95, 2000, 0),
        Sample(9.0, 999.0, 100, 0, 99, 0, 9999, 0),  # outside the window
    ]
    tele = pw.summarize(samples, 0.0, 1.0)
    m = tele.metrics
    assert tele.integrated_j == pytest.approx(0.5 * 200 + 0.5 * 250)
    assert m["power/max_w"] == 300
    assert m["clock/sm_min_mhz"] == 1800
    assert m["clock/sm_mean_mhz"] == pytest.approx(1893.333, rel=1e-5)
    assert m["clock/mem_mean_mhz"] == 2619
    assert m["temperature/max_c"] == 70
    assert m["utilization/gpu_mean_pct"] == pytest.approx(95)
    assert m["memory/device_used_max_bytes"] == 3000
    assert m["telemetry/sample_period_ms"] == pytest.approx(500)


def test_chunk_calls() -> None:
    assert pw.chunk_calls(0.001, 1.0) == 100
    assert pw.chunk_calls(0.5, 1.0) == 1
    assert pw.chunk_calls(0.0, 1.0) == 1
    assert pw.chunk_calls(float("nan"), 1.0) == 1


def test_fill_window_stops_after_min_window() -> None:
    clock = FakeClock()
    calls: list[int] = []

    def run(n: int) -> None:
        calls.append(n)
        clock.advance(0.3 * n)

    assert pw.fill_window(run, 1, 1.0, clock, 0.0) == 4
    assert clock() == pytest.approx(1.2)


def test_sampler_manual_is_deterministic_and_records_errors() -> None:
    clock = FakeClock()
    state = {"fail": False}

    def read(t: float) -> Sample:
        if state["fail"]:
            raise RuntimeError("GPU is lost")
        return Sample(t_s=t, power_w=1.0)

    sampler = pw.Sampler(read, 0.05, clock)
    for _ in range(3):
        sampler.sample_once()
        clock.advance(0.05)
    state["fail"] = True
    sampler.sample_once()
    sampler.sample_once()
    assert [s.t_s for s in sampler.samples] == pytest.approx([0.0, 0.05, 0.1])
    assert sampler.errors == ["GPU is lost"]
    assert sampler.achieved_period_ms() == pytest.approx(50)


def test_sampler_thread_takes_first_and_last_reading() -> None:
    # No timing assertion: start() and stop() each take one reading, whatever the thread did.
    sampler = pw.Sampler(lambda t: Sample(t_s=t, power_w=1.0), 10.0)
    sampler.start()
    samples = sampler.stop()
    assert len(samples) >= 2
    assert samples[0].t_s <= samples[-1].t_s


def _reader(gpu: FakeGpu, **kwargs: object) -> tuple[pw.NvmlReader, FakeNvml]:
    fake = FakeNvml([gpu], **kwargs)  # type: ignore[arg-type]
    session = NvmlSession(fake).open()
    return pw.NvmlReader(session, fake.gpus[0]), fake


def test_reader_prefers_instant_power_field() -> None:
    reader, _ = _reader(FakeGpu(power_w=lambda t: 123.456))
    assert reader.power_source == pw.POWER_INSTANT
    sample = reader.read(0.0)
    assert sample.power_w == pytest.approx(123.456)
    assert sample.sm_mhz == 1980
    assert sample.mem_used_bytes == 10 * 2**30


def test_reader_falls_back_to_average_and_old_reasons_api() -> None:
    gpu = FakeGpu(instant_power=False, reasons=lambda t: 0x4)
    reader, _ = _reader(gpu, new_reasons_api=False)
    assert reader.power_source == pw.POWER_AVERAGE
    sample = reader.read(1.0)
    assert sample.power_w == pytest.approx(300.0)
    assert sample.reasons == 0x4


def test_field_value_error_is_classified() -> None:
    from types import SimpleNamespace

    from attnbench.measure.nvml import NvmlUnavailable

    bad = SimpleNamespace(nvmlReturn=3, valueType=1, value=SimpleNamespace(uiVal=0))
    with pytest.raises(NvmlUnavailable):
        pw.field_value(bad)
    good = SimpleNamespace(nvmlReturn=0, valueType=0, value=SimpleNamespace(dVal=1.5))
    assert pw.field_value(good) == 1.5
