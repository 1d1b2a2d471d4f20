"""NVML session, error classification, UUID/PCI matching and static GPU facts."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest

from attnbench.measure import nvml
from attnbench.measure.gpu_info import describe_gpus
from attnbench.measure.nvml import (
    LIBRARY_NOT_FOUND_REASON,
    NvmlSession,
    NvmlUnavailable,
    classify_error,
    match_device,
    normalize_pci_bus_id,
    normalize_uuid,
)
from tests.measure import fake_nvml as fk
from tests.measure.fake_nvml import FakeGpu, FakeNvml, torch_props

Install = Callable[..., FakeNvml]

U1 = "GPU-11111111-2222-3333-4444-555555555555"
U2 = "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def _real_nvml_works() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        return True
    except Exception:
        return False


@pytest.mark.skipif(_real_nvml_works(), reason="a working NVML driver is present")
def test_real_pynvml_without_driver_is_library_not_found() -> None:
    # pynvml imports here but there is no libnvidia-ml: the real path must classify it.
    with pytest.raises(NvmlUnavailable) as info:
        NvmlSession().open()
    assert info.value.problem.code == "NVML_LIBRARY_NOT_FOUND"
    assert info.value.problem.reason == LIBRARY_NOT_FOUND_REASON
    report = describe_gpus()
    assert report["available"] is False
    assert report["reason"] == LIBRARY_NOT_FOUND_REASON
    assert report["gpus"] == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (fk.NVML_ERROR_LIBRARY_NOT_FOUND, "NVML_LIBRARY_NOT_FOUND"),
        (fk.NVML_ERROR_DRIVER_NOT_LOADED, "NVML_DRIVER_NOT_LOADED"),
        (fk.NVML_ERROR_LIB_RM_VERSION_MISMATCH, "NVML_VERSION_MISMATCH"),
        (fk.NVML_ERROR_NO_PERMISSION, "NVML_NO_PERMISSION"),
        (fk.NVML_ERROR_NOT_SUPPORTED, "NVML_NOT_SUPPORTED"),
        (fk.NVML_ERROR_GPU_IS_LOST, "NVML_GPU_LOST"),
        (fk.NVML_ERROR_OPERATING_SYSTEM, "NVML_OS_BLOCKED"),
        (fk.NVML_ERROR_UNKNOWN, "NVML_ERROR"),
    ],
)
def test_errors_are_classified_in_one_place(code: int, expected: str) -> None:
    problem = classify_error(fk.NVMLError(code))
    assert problem.code == expected
    assert problem.reason


def test_missing_package_and_missing_library() -> None:
    assert classify_error(ImportError("no pynvml")).code == "NVML_NOT_INSTALLED"
    assert classify_error(OSError("libnvidia-ml.so.1")).reason == LIBRARY_NOT_FOUND_REASON


def test_session_init_failure_is_unavailable(install_nvml: Install) -> None:
    install_nvml(init_error=fk.NVML_ERROR_LIB_RM_VERSION_MISMATCH)
    with pytest.raises(NvmlUnavailable) as info, NvmlSession():
        pass
    assert "version mismatch" in info.value.problem.reason


def test_session_shuts_down_once(install_nvml: Install) -> None:
    fake = install_nvml()
    with NvmlSession() as s:
        assert s.device_count() == 1
    s.close()
    assert (fake.inits, fake.shutdowns) == (1, 1)


@pytest.mark.parametrize(
    "value",
    [
        U1,
        U1.encode(),
        "11111111-2222-3333-4444-555555555555",
        "GPU-11111111-2222-3333-4444-555555555555".upper(),
        SimpleNamespace(bytes=bytes.fromhex("11111111222233334444555555555555")),
        SimpleNamespace(bytes=list(bytes.fromhex("11111111222233334444555555555555"))),
        bytes.fromhex("11111111222233334444555555555555"),
    ],
)
def test_uuid_normalisation(value: object) -> None:
    assert normalize_uuid(value) == "11111111222233334444555555555555"


def test_pci_normalisation() -> None:
    assert normalize_pci_bus_id("00000000:17:00.0") == (0, 0x17, 0, 0)
    assert normalize_pci_bus_id(b"0000:B3:00.0") == (0, 0xB3, 0, 0)
    assert normalize_pci_bus_id("garbage") is None


def test_match_by_uuid_in_a_reordered_list() -> None:
    # NVML enumerates in PCI order; torch's cuda:0 is NVML's device 1 here.
    candidates = [(normalize_uuid(U2), (0, 0x17, 0, 0)), (normalize_uuid(U1), (0, 0xB3, 0, 0))]
    assert match_device("11111111-2222-3333-4444-555555555555", None, candidates) == 1
    assert match_device(U2, None, candidates) == 0


def test_match_falls_back_to_pci_and_never_to_index() -> None:
    candidates = [(normalize_uuid(U2), (0, 0x17, 0, 0)), ("", (0, 0xB3, 0, 0))]
    assert match_device(None, (0, 0xB3, 0, 0), candidates) == 1
    assert match_device("deadbeef", None, candidates) is None


def test_handle_for_torch_uses_uuid(install_nvml: Install) -> None:
    install_nvml(gpus=[FakeGpu(uuid=U2, bus_id="00000000:17:00.0"), FakeGpu(uuid=U1)])
    with NvmlSession() as s:
        index, handle = s.handle_for_torch(torch_props())
        assert index == 1
        assert handle.uuid == U1
        with pytest.raises(NvmlUnavailable):
            s.handle_for_torch(torch_props(uuid="99999999-0000-0000-0000-000000000000"))


def test_handle_for_torch_by_pci(install_nvml: Install) -> None:
    install_nvml(gpus=[FakeGpu(uuid=U2), FakeGpu(uuid=U1, bus_id="00000000:B3:00.0")])
    with NvmlSession() as s:
        index, _ = s.handle_for_torch(torch_props(uuid=None, pci=(0, 0xB3, 0)))
    assert index == 1


def test_describe_gpus(install_nvml: Install) -> None:
    install_nvml(gpus=[FakeGpu(), FakeGpu(uuid=U2, energy_mj=None, default_sm_mhz=None)])
    report = describe_gpus()
    assert report["available"] is True
    assert report["driver_version"] == "550.54.15"
    assert report["cuda_driver_version"] == "12.4"
    first, second = report["gpus"]
    assert first["power_limit_w"] == 700.0
    assert first["default_sm_clock_mhz"] == 1980
    assert first["energy_counter"] is True
    assert first["persistence_mode"] is True
    assert first["mig_mode"] is False
    assert second["energy_counter"] is False
    assert second["default_sm_clock_mhz"] is None


def test_describe_gpus_without_devices(install_nvml: Install) -> None:
    install_nvml(gpus=[])
    report = describe_gpus()
    assert report["available"] is False
    assert report["code"] == "NVML_NO_DEVICE"


def test_load_boundary_is_the_real_module_by_default() -> None:
    module = nvml._load_pynvml()
    assert hasattr(module, "nvmlInit")
    assert module is not FakeNvml


@pytest.mark.parametrize("code", [fk.NVML_ERROR_NO_PERMISSION, fk.NVML_ERROR_OPERATING_SYSTEM])
def test_walk_skips_handles_nvml_refuses(install_nvml: Install, code: int) -> None:
    install_nvml(gpus=[FakeGpu(uuid=U2, refuse=code), FakeGpu(uuid=U1)])
    with NvmlSession() as s:
        opened, refused = s.readable_handles()
        assert [i for i, _ in opened] == [1]
        assert [(i, p.code) for i, p in refused] == [(0, classify_error(fk.NVMLError(code)).code)]
        assert s.identities()[0] == ("", None)
        index, handle = s.handle_for_torch(torch_props())
    assert (index, handle.uuid) == (1, U1)


def test_job_gpu_is_opened_by_uuid(install_nvml: Install) -> None:
    fake = install_nvml(gpus=[FakeGpu(uuid=U2), FakeGpu(uuid=U1)])
    with NvmlSession() as s:
        assert s.handle_by_uuid(SimpleNamespace(bytes=bytes.fromhex(U1[4:].replace("-", ""))))
        assert s.handle_by_uuid("99999999-0000-0000-0000-000000000000") is None
        assert s.handle_by_uuid("") is None
    with pytest.raises(fk.NVMLError):  # the fake is strict: NVML wants GPU-/MIG- strings
        fake.nvmlDeviceGetHandleByUUID("11111111-2222-3333-4444-555555555555")


def test_fake_refuses_handles_it_never_gave_out() -> None:
    fake = FakeNvml([FakeGpu(), FakeGpu(refuse=fk.NVML_ERROR_NO_PERMISSION)])
    with pytest.raises(fk.NVMLError) as info:
        fake.nvmlDeviceGetHandleByIndex(1)
    assert info.value.value == fk.NVML_ERROR_NO_PERMISSION
    with pytest.raises(fk.NVMLError):
        fake.nvmlDeviceGetHandleByIndex(2)
    with pytest.raises(fk.NVMLError):
        fake.nvmlDeviceGetName(fake.gpus[1])  # a handle of a refused GPU never exists
    with pytest.raises(fk.NVMLError):
        fake.nvmlDeviceGetName(FakeGpu())  # nor one from another NVML


def test_fake_counter_steps_like_the_real_one() -> None:
    clock = fk.FakeClock()
    fake = FakeNvml([FakeGpu(energy_mj=lambda t: 1000 * t, counter_period_s=0.1)], clock=clock)
    readings = []
    for _ in range(25):
        readings.append(fake.nvmlDeviceGetTotalEnergyConsumption(fake.gpus[0]))
        clock.advance(0.01)
    assert sorted(set(readings)) == [0, 100, 200]


def test_describe_gpus_lists_unreadable_gpus(install_nvml: Install) -> None:
    install_nvml(gpus=[FakeGpu(uuid=U2, refuse=fk.NVML_ERROR_NO_PERMISSION), FakeGpu()])
    report = describe_gpus()
    assert report["available"] is True
    assert [g["uuid"] for g in report["gpus"]] == [U1]
    assert report["unreadable"] == [
        {"index": 0, "code": "NVML_NO_PERMISSION", "reason": report["unreadable"][0]["reason"]}
    ]
    install_nvml(gpus=[FakeGpu(refuse=fk.NVML_ERROR_OPERATING_SYSTEM)])
    none = describe_gpus()
    assert none["available"] is False and none["code"] == "NVML_OS_BLOCKED"


def test_default_clock_from_the_current_api_then_the_deprecated_one(
    install_nvml: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_nvml(gpus=[FakeGpu(default_sm_mhz=1755)])
    assert describe_gpus()["gpus"][0]["default_sm_clock_mhz"] == 1755
    monkeypatch.delattr(FakeNvml, "nvmlDeviceGetClock")  # older pynvml: the deprecated call
    assert describe_gpus()["gpus"][0]["default_sm_clock_mhz"] == 1755
    monkeypatch.delattr(FakeNvml, "nvmlDeviceGetDefaultApplicationsClock")
    assert describe_gpus()["gpus"][0]["default_sm_clock_mhz"] is None
