"""The NVML meter over scripted windows, the RAPL meter, and make_meter's choices."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from attnbench.case import Case
from attnbench.devices.cpu import CpuDevice
from attnbench.errors import EXIT_ENVIRONMENT, EnvironmentUnavailable
from attnbench.measure import rapl
from attnbench.measure.energy import UnavailableMeter
from attnbench.measure.gpu_info import gpu_info
from attnbench.measure.meters import (
    COUNTER_UPDATE_S,
    METHOD_COUNTER,
    METHOD_INTEGRATION,
    UPDATES_PER_WINDOW,
    NvmlMeter,
    make_meter,
)
from attnbench.measure.nvml import LIBRARY_NOT_FOUND_REASON, NvmlSession
from attnbench.suite.schema import PowerSettings
from tests.measure import fake_nvml as fk
from tests.measure.fake_nvml import (
    FakeClock,
    FakeGpu,
    FakeNvml,
    const,
    cuda_device,
    torch_props,
)

Install = Callable[..., FakeNvml]
CASE = Case(batch=2, heads=1, seq_len=64, head_dim=8)  # 128 tokens per call


def _meter(
    gpu: FakeGpu, settings: PowerSettings | None = None
) -> tuple[NvmlMeter, FakeClock, FakeNvml]:
    clock = FakeClock()
    fake = FakeNvml([gpu], clock=clock)
    session = NvmlSession(fake).open()
    info = gpu_info(session, 0, fake.gpus[0])
    meter = NvmlMeter(
        session,
        fake.gpus[0],
        info,
        settings or PowerSettings(),
        clock=clock,
        sleep=clock.sleep,
        threaded=False,
    )
    meter.calibrate()  # watches the stepping counter, as make_meter does
    clock.t = 0.0  # windows below start at t = 0
    return meter, clock, fake


def _runner(clock: FakeClock, per_call_s: float) -> tuple[Callable[[int], None], list[int]]:
    done: list[int] = []

    def run_calls(n: int) -> None:
        done.append(n)
        clock.advance(per_call_s * n)

    return run_calls, done


def test_counter_window_is_exact() -> None:
    gpu = FakeGpu(energy_mj=lambda t: 1000 + 2500 * min(t, 1.0))
    meter, clock, _ = _meter(gpu)
    run_calls, done = _runner(clock, 0.2)
    report = meter.measure(run_calls, 0.2, CASE)
    assert report.method == METHOD_COUNTER
    assert sum(done) == 5
    m = report.metrics
    assert m["energy/joules_per_call"] == pytest.approx(0.5)  # (3500 - 1000) mJ / 5 calls
    assert m["energy/joules_per_token"] == pytest.approx(0.5 / 128)
    assert m["energy/window_s"] == pytest.approx(1.0)
    assert m["power/mean_w"] == pytest.approx(2.5)
    assert m["telemetry/sample_period_ms"] == pytest.approx(200)
    assert report.warnings == ()
    d = report.details
    assert d["calls"] == 5
    assert d["method"] == METHOD_COUNTER
    assert d["power_source"] == "instant"
    assert d["samples"] == 6
    assert d["sample_period_ms"] == pytest.approx(200)
    assert (d["energy_counter_start_mj"], d["energy_counter_end_mj"]) == (1000, 3500)
    assert d["throttle_reasons"] == []
    assert d["sm_clock_threshold_mhz"] == pytest.approx(0.9 * 1980)


def test_without_counter_integrates_power() -> None:
    gpu = FakeGpu(energy_mj=None, power_w=lambda t: 100 + 100 * t * t)
    meter, clock, _ = _meter(gpu)
    assert meter.method == METHOD_INTEGRATION
    run_calls, _ = _runner(clock, 0.2)
    report = meter.measure(run_calls, 0.2, CASE)
    assert report.method == METHOD_INTEGRATION
    # trapezoid over samples at 0, 0.2, ..., 1.0 s: 134 J, i.e. 26.8 J per call
    assert report.metrics["energy/joules_per_call"] == pytest.approx(26.8)
    assert report.metrics["power/mean_w"] == pytest.approx(134.0)
    assert report.metrics["power/max_w"] == pytest.approx(200.0)


def test_average_power_source_is_recorded() -> None:
    gpu = FakeGpu(energy_mj=None, instant_power=False)
    meter, clock, _ = _meter(gpu)
    report = meter.measure(_runner(clock, 0.2)[0], 0.2, CASE)
    assert report.details["power_source"] == "average"
    assert "1 s-average" in report.reason
    assert report.metrics["energy/joules_per_call"] == pytest.approx(60.0)  # 300 W × 1 s / 5


def test_stalled_counter_warns_and_omits_energy() -> None:
    meter, clock, _ = _meter(FakeGpu(energy_mj=lambda t: 5000))
    report = meter.measure(_runner(clock, 0.2)[0], 0.2, CASE)
    assert "ENERGY_COUNTER_STALLED" in report.warnings
    assert "energy/joules_per_call" not in report.metrics
    assert "energy/joules_per_token" not in report.metrics
    assert report.metrics["power/mean_w"] == pytest.approx(300.0)  # from the samples


def test_window_spans_enough_counter_steps_and_stores_the_error_bound() -> None:
    # a 100 ms counter and a 0.1 s minimum: one step would be the whole window
    gpu = FakeGpu(energy_mj=lambda t: 1000 + 100_000 * t, counter_period_s=0.1)
    meter, clock, _ = _meter(gpu, PowerSettings(min_window_s=0.1))
    assert meter.counter_period_s == pytest.approx(0.1)
    assert meter.window_s() == pytest.approx(UPDATES_PER_WINDOW * 0.1)
    report = meter.measure(_runner(clock, 0.01)[0], 0.01, CASE)
    assert report.metrics["energy/window_s"] >= UPDATES_PER_WINDOW * 0.1
    bound = report.metrics["energy/rel_error_bound"]
    assert bound == pytest.approx(0.1 / report.metrics["energy/window_s"])
    assert bound <= 1 / UPDATES_PER_WINDOW
    assert report.details["counter_update_period_ms"] == pytest.approx(100)
    assert report.details["counter_update_period_source"] == "measured"
    assert "ENERGY_WINDOW_TOO_SHORT" not in report.warnings


@pytest.mark.parametrize("per_call_s", [0.013, 0.037, 0.061])
def test_stepping_counter_error_stays_within_the_stored_bound(per_call_s: float) -> None:
    # 250 W, counter stepping every 70 ms, windows that end between steps
    gpu = FakeGpu(energy_mj=lambda t: 5000 + 250_000 * t, counter_period_s=0.07)
    meter, clock, _ = _meter(gpu, PowerSettings(min_window_s=0.5))
    clock.t = 0.031  # the window starts between two steps
    report = meter.measure(_runner(clock, per_call_s)[0], per_call_s, CASE)
    true_j = 250.0 * per_call_s
    error = abs(report.metrics["energy/joules_per_call"] - true_j) / true_j
    assert 0 < error <= report.metrics["energy/rel_error_bound"]


def test_a_counter_that_never_steps_keeps_the_assumed_period() -> None:
    meter, _, _ = _meter(FakeGpu(energy_mj=lambda t: 5000))
    assert meter.counter_period_source == "assumed"
    assert meter.counter_period_s == pytest.approx(COUNTER_UPDATE_S)
    assert meter.window_s() == pytest.approx(UPDATES_PER_WINDOW * COUNTER_UPDATE_S)


def test_throttle_bits_and_low_clock() -> None:
    gpu = FakeGpu(
        energy_mj=lambda t: 1000 + 1000 * t,
        sm_mhz=lambda t: 1400 if 0.3 < t < 0.5 else 1980,
        reasons=lambda t: 0x4 | 0x40 if 0.3 < t < 0.5 else 0,
    )
    meter, clock, _ = _meter(gpu)
    report = meter.measure(_runner(clock, 0.2)[0], 0.2, CASE)
    assert "THROTTLED" in report.warnings
    assert report.details["throttle_reasons"] == ["HW_THERMAL", "SW_POWER_CAP"]
    assert report.details["low_clock_samples"] == 1
    assert report.metrics["clock/sm_min_mhz"] == 1400


def test_without_a_default_clock_only_throttle_reasons_decide() -> None:
    # GeForce: no default applications clock; sustained clocks sit well below the boost max
    gpu = FakeGpu(default_sm_mhz=None, max_sm_mhz=2520, sm_mhz=const(2200))
    meter, clock, _ = _meter(gpu)
    report = meter.measure(_runner(clock, 0.2)[0], 0.2, CASE)
    assert report.details["sm_clock_reference"] == "unavailable"
    assert report.details["throttle_check"] == "reasons_only"
    assert report.details["sm_clock_threshold_mhz"] is None
    assert "THROTTLED" not in report.warnings
    capped = FakeGpu(default_sm_mhz=None, max_sm_mhz=2520, reasons=lambda t: 0x4)
    meter, clock, _ = _meter(capped)
    report = meter.measure(_runner(clock, 0.2)[0], 0.2, CASE)
    assert "THROTTLED" in report.warnings


def test_nvml_error_mid_window_warns_and_run_continues() -> None:
    late = {
        "nvmlDeviceGetFieldValues": lambda t: t > 0.5,
        "nvmlDeviceGetPowerUsage": lambda t: t > 0.5,
    }
    gpu = FakeGpu(
        energy_mj=lambda t: 1000 + 2500 * t, fail=late, fail_code=fk.NVML_ERROR_GPU_IS_LOST
    )
    meter, clock, _ = _meter(gpu)
    run_calls, done = _runner(clock, 0.2)
    report = meter.measure(run_calls, 0.2, CASE)
    assert sum(done) == 5
    assert "NVML_ERROR" in report.warnings
    assert "GPU fell off the bus" in report.reason
    assert report.metrics["energy/joules_per_call"] == pytest.approx(0.5)


def test_counter_failure_falls_back_to_integration() -> None:
    late = {"nvmlDeviceGetTotalEnergyConsumption": lambda t: t > 0.5}
    meter, clock, _ = _meter(FakeGpu(energy_mj=lambda t: 1000 + 2500 * t, fail=late))
    report = meter.measure(_runner(clock, 0.2)[0], 0.2, CASE)
    assert report.method == METHOD_INTEGRATION
    assert "NVML_ERROR" in report.warnings
    assert report.metrics["energy/joules_per_call"] == pytest.approx(60.0)


def test_idle_baseline_and_no_cooldown_inside_the_window() -> None:
    # the cooldown runs before a case's timing (runner), never between timing and energy
    settings = PowerSettings(cooldown_s=2.0, idle_baseline_s=4.0)
    meter, clock, _ = _meter(FakeGpu(energy_mj=lambda t: 1000 + 50_000 * t), settings)
    assert meter.idle_power_w() == pytest.approx(50.0)
    assert clock() == pytest.approx(4.0)
    report = meter.measure(_runner(clock, 0.2)[0], 0.2, CASE)
    assert clock() == pytest.approx(5.0)  # 4 s idle + 1 s window
    assert report.metrics["power/idle_w"] == pytest.approx(50.0)
    assert meter.status()["idle_w"] == pytest.approx(50.0)


def test_idle_baseline_off_by_default() -> None:
    meter, _, _ = _meter(FakeGpu())
    assert meter.idle_power_w() is None


# ---------------------------------------------------------------------- make_meter


def test_off_is_disabled() -> None:
    meter = make_meter(CpuDevice(), PowerSettings(enabled="off"))
    assert isinstance(meter, UnavailableMeter)
    assert "disabled" in meter.reason


def test_cuda_without_nvml_library(install_nvml: Install) -> None:
    install_nvml(init_error=fk.NVML_ERROR_LIBRARY_NOT_FOUND)
    meter = make_meter(cuda_device(), PowerSettings())
    assert not meter.available
    assert meter.status()["reason"] == LIBRARY_NOT_FOUND_REASON
    report = meter.measure(lambda n: None, 0.001, CASE)
    assert report.method == "unavailable"
    assert report.metrics == {}
    with pytest.raises(EnvironmentUnavailable) as info:
        make_meter(cuda_device(), PowerSettings(enabled="on"))
    assert info.value.exit_code == EXIT_ENVIRONMENT
    assert LIBRARY_NOT_FOUND_REASON in str(info.value)
    assert "Fix:" in str(info.value)


def test_cuda_real_pynvml_without_driver() -> None:
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        pytest.skip("a working NVML driver is present")
    except pynvml.NVMLError:
        pass
    meter = make_meter(cuda_device(), PowerSettings())
    assert meter.status()["reason"] == LIBRARY_NOT_FOUND_REASON


def test_cuda_with_counter(install_nvml: Install) -> None:
    fake = install_nvml(gpus=[FakeGpu(uuid="GPU-ffffffff-0000-0000-0000-000000000000"), FakeGpu()])
    meter = make_meter(cuda_device(torch_props()), PowerSettings())
    assert isinstance(meter, NvmlMeter)
    assert meter.status()["method"] == METHOD_COUNTER
    assert meter.status()["gpu"]["index"] == 1  # matched by UUID, not by index
    meter.close()
    assert fake.shutdowns == 1


def test_cuda_without_counter(install_nvml: Install) -> None:
    install_nvml(gpus=[FakeGpu(energy_mj=None)])
    meter = make_meter(cuda_device(), PowerSettings())
    assert meter.status()["method"] == METHOD_INTEGRATION
    meter.close()


@pytest.mark.parametrize(
    ("gpu", "props", "words"),
    [
        (FakeGpu(mig=True), torch_props(), "MIG"),
        (FakeGpu(), torch_props(uuid="99999999-0000-0000-0000-000000000000"), "UUID"),
        # torch on a MIG instance reports the instance UUID, which no NVML GPU has
        (FakeGpu(mig=True), torch_props(uuid="MIG-99999999-0000-0000-0000-000000000000"), "MIG"),
    ],
)
def test_cuda_unavailable_reasons(
    install_nvml: Install, gpu: FakeGpu, props: Any, words: str
) -> None:
    fake = install_nvml(gpus=[gpu])
    meter = make_meter(cuda_device(props), PowerSettings())
    assert isinstance(meter, UnavailableMeter)
    assert words in meter.reason
    assert fake.shutdowns == 1


def test_cpu_without_rapl(tmp_path: Path) -> None:
    meter = make_meter(CpuDevice(), PowerSettings(), powercap_root=tmp_path)
    assert isinstance(meter, UnavailableMeter)
    assert "no RAPL zones" in meter.reason
    with pytest.raises(EnvironmentUnavailable):
        make_meter(CpuDevice(), PowerSettings(enabled="on"), powercap_root=tmp_path)


@pytest.mark.skipif(Path("/sys/class/powercap").exists(), reason="this machine has powercap")
def test_cpu_on_this_machine_has_no_rapl() -> None:
    meter = make_meter(CpuDevice(), PowerSettings())
    assert meter.status()["reason"] == rapl.NO_RAPL_REASON


def _zone(root: Path, energy: int, max_range: int = 1000) -> Path:
    zone = root / "intel-rapl:0"
    zone.mkdir(exist_ok=True)
    (zone / "name").write_text("package-0\n")
    (zone / "max_energy_range_uj").write_text(f"{max_range}\n")
    (zone / "energy_uj").write_text(f"{energy}\n")
    (root / "intel-rapl:0:0").mkdir(exist_ok=True)  # a sub-zone: not summed
    return zone


def test_rapl_meter_with_wraparound(tmp_path: Path) -> None:
    zone = _zone(tmp_path, 900_000, max_range=1_000_000)
    meter = make_meter(CpuDevice(), PowerSettings(min_window_s=1.0), powercap_root=tmp_path)
    assert isinstance(meter, rapl.RaplMeter)
    clock = FakeClock()
    meter.clock = clock

    def run_calls(n: int) -> None:
        clock.advance(0.5 * n)
        (zone / "energy_uj").write_text("100000\n")  # wrapped: 200 000 µJ in total

    report = meter.measure(run_calls, 0.5, CASE)
    assert report.method == "rapl"
    assert report.details["calls"] == 2
    assert report.metrics["energy/joules_per_call"] == pytest.approx(0.1)
    assert report.metrics["power/mean_w"] == pytest.approx(0.2)


def test_rapl_stalled_and_unreadable(tmp_path: Path) -> None:
    _zone(tmp_path, 500)
    meter = make_meter(CpuDevice(), PowerSettings(min_window_s=0.0), powercap_root=tmp_path)
    report = meter.measure(lambda n: None, 0.1, CASE)
    assert report.warnings == ("ENERGY_COUNTER_STALLED",)
    assert "energy/joules_per_call" not in report.metrics
    (tmp_path / "intel-rapl:0" / "energy_uj").unlink()
    (tmp_path / "intel-rapl:0" / "energy_uj").mkdir()
    zones, reason = rapl.find_zones(tmp_path)
    assert zones == []
    assert "not readable" in reason


def test_rapl_delta() -> None:
    assert rapl.delta_uj(10, 30, 100) == 20
    assert rapl.delta_uj(90, 10, 100) == 20


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_real_gpu_window() -> None:
    from attnbench.devices import get_device

    device = get_device("cuda")
    meter = make_meter(device, PowerSettings(min_window_s=0.5))
    if not meter.available:
        pytest.skip(meter.status()["reason"])
    a = torch.randn(2048, 2048, device="cuda")

    def run_calls(n: int) -> None:
        for _ in range(n):
            a @ a
        torch.cuda.synchronize()

    report = meter.measure(run_calls, 0.001, CASE)
    meter.close()
    assert report.method in (METHOD_COUNTER, METHOD_INTEGRATION)
    assert report.metrics["energy/window_s"] >= 0.5
    assert report.metrics.get("energy/joules_per_call", 1.0) > 0


# ---------------------------------------------------------------- the real sampler thread


def _threaded(gpu: FakeGpu, settings: PowerSettings) -> NvmlMeter:
    fake = FakeNvml([gpu], clock=time.perf_counter)
    session = NvmlSession(fake).open()
    meter = NvmlMeter(session, fake.gpus[0], gpu_info(session, 0, fake.gpus[0]), settings)
    meter.calibrate()
    return meter


def _sleeping(per_call_s: float) -> Callable[[int], None]:
    def run_calls(n: int) -> None:
        time.sleep(per_call_s * n)

    return run_calls


def test_threaded_window_on_a_real_clock() -> None:
    # No speed assertion: the counter and the samples follow the real clock, whatever it did.
    gpu = FakeGpu(energy_mj=lambda t: 300_000 * t, counter_period_s=0.005)
    meter = _threaded(gpu, PowerSettings(min_window_s=0.1, sample_period_ms=5))
    assert meter.counter_period_source == "measured"
    report = meter.measure(_sleeping(0.01), 0.01, CASE)
    m = report.metrics
    assert report.warnings == ()
    assert report.details["samples"] >= 2  # start() and stop() each read once
    assert m["energy/window_s"] >= meter.window_s()
    assert m["power/mean_w"] == pytest.approx(300.0, rel=m["energy/rel_error_bound"] + 0.05)
    assert not any(t.name == "attnbench-nvml" for t in threading.enumerate())


def test_threaded_sampler_records_errors_and_the_window_completes() -> None:
    start = time.perf_counter()
    late = {
        "nvmlDeviceGetFieldValues": lambda t: t > start + 0.05,
        "nvmlDeviceGetPowerUsage": lambda t: t > start + 0.05,
    }
    gpu = FakeGpu(
        energy_mj=lambda t: 200_000 * t,
        counter_period_s=0.005,
        fail=late,
        fail_code=fk.NVML_ERROR_GPU_IS_LOST,
    )
    meter = _threaded(gpu, PowerSettings(min_window_s=0.1, sample_period_ms=5))
    report = meter.measure(_sleeping(0.01), 0.01, CASE)
    assert "NVML_ERROR" in report.warnings
    assert "GPU fell off the bus" in report.reason
    assert report.metrics["energy/joules_per_call"] > 0  # the counter still answered


@pytest.mark.parametrize("code", [fk.NVML_ERROR_NO_PERMISSION, fk.NVML_ERROR_OPERATING_SYSTEM])
def test_gpus_hidden_by_cgroups_do_not_stop_the_jobs_gpu(install_nvml: Install, code: int) -> None:
    hidden = [
        FakeGpu(uuid=f"GPU-{i}0000000-0000-0000-0000-000000000000", refuse=code) for i in (1, 2)
    ]
    install_nvml(gpus=[hidden[0], hidden[1], FakeGpu()])
    meter = make_meter(cuda_device(torch_props()), PowerSettings(enabled="on"))
    assert isinstance(meter, NvmlMeter)
    assert meter.status()["gpu"]["index"] == 2
    meter.close()


def test_job_gpu_found_by_pci_past_a_refused_handle(install_nvml: Install) -> None:
    fake = install_nvml(
        gpus=[
            FakeGpu(refuse=fk.NVML_ERROR_NO_PERMISSION),
            FakeGpu(uuid="GPU-aaaaaaaa-0000-0000-0000-000000000000", bus_id="00000000:B3:00.0"),
        ]
    )
    # torch gave no UUID: no lookup by UUID, so the walk must step over the refused GPU 0
    meter = make_meter(cuda_device(torch_props(uuid=None, pci=(0, 0xB3, 0))), PowerSettings())
    assert isinstance(meter, NvmlMeter) and meter.status()["gpu"]["index"] == 1
    meter.close()
    assert fake.shutdowns == 1
