"""Static facts about each GPU as NVML reports them, for ``attnbench env`` and run settings.

Everything here is read once (names, UUIDs, clocks, limits, modes); the per-window telemetry
lives in :mod:`attnbench.measure.power`. Errors never escape: a fact NVML cannot give is None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from attnbench.measure.nvml import (
    NO_DEVICE_PROBLEM,
    NvmlSession,
    NvmlUnavailable,
    _text,
)

T = TypeVar("T")


def _try(fn: Callable[[], T]) -> T | None:
    try:
        return fn()
    except Exception:
        return None


@dataclass(frozen=True)
class GpuInfo:
    """Static facts about one GPU from NVML (None = NVML could not tell).

    Attributes:
        index: NVML index (PCI order; may differ from torch's).
        name: product name.
        uuid: ``GPU-...`` as NVML prints it.
        pci_bus_id: ``00000000:17:00.0``.
        memory_total_bytes: device memory, bytes.
        power_limit_w: enforced power limit, W (NVML reports mW).
        default_sm_clock_mhz: default applications SM clock, MHz (None where NVML has none,
            e.g. GeForce cards).
        max_sm_clock_mhz: maximum SM clock, MHz.
        max_mem_clock_mhz: maximum memory clock, MHz.
        persistence_mode: persistence mode on.
        mig_mode: MIG currently enabled.
        energy_counter: ``nvmlDeviceGetTotalEnergyConsumption`` works (Volta+).
    """

    index: int
    name: str
    uuid: str
    pci_bus_id: str | None
    memory_total_bytes: int | None
    power_limit_w: float | None
    default_sm_clock_mhz: int | None
    max_sm_clock_mhz: int | None
    max_mem_clock_mhz: int | None
    persistence_mode: bool | None
    mig_mode: bool | None
    energy_counter: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gpu_info(session: NvmlSession, index: int, handle: Any) -> GpuInfo:
    """Collect :class:`GpuInfo` for one handle; every fact is optional."""
    nv = session.nv

    def q(fn: str, *args: Any) -> Any:
        return session.try_call(fn, handle, *args)

    mem = q("nvmlDeviceGetMemoryInfo")
    limit_mw = q("nvmlDeviceGetEnforcedPowerLimit")
    pci = q("nvmlDeviceGetPciInfo")
    mig = q("nvmlDeviceGetMigMode")
    persistence = q("nvmlDeviceGetPersistenceMode")
    sm = getattr(nv, "NVML_CLOCK_SM", 1)
    memclk = getattr(nv, "NVML_CLOCK_MEM", 2)
    return GpuInfo(
        index=index,
        name=_text(q("nvmlDeviceGetName") or "unknown"),
        uuid=_text(q("nvmlDeviceGetUUID") or ""),
        pci_bus_id=_text(pci.busId) if pci is not None and hasattr(pci, "busId") else None,
        memory_total_bytes=int(mem.total) if mem is not None else None,
        power_limit_w=float(limit_mw) / 1000.0 if limit_mw is not None else None,
        default_sm_clock_mhz=_default_app_clock(session, handle, sm),
        max_sm_clock_mhz=_int_or_none(q("nvmlDeviceGetMaxClockInfo", sm)),
        max_mem_clock_mhz=_int_or_none(q("nvmlDeviceGetMaxClockInfo", memclk)),
        persistence_mode=bool(persistence) if persistence is not None else None,
        mig_mode=bool(_try(lambda: mig[0])) if mig is not None else None,
        energy_counter=q("nvmlDeviceGetTotalEnergyConsumption") is not None,
    )


def _default_app_clock(session: NvmlSession, handle: Any, clock_type: int) -> int | None:
    """Default applications clock, MHz: ``nvmlDeviceGetClock(..., APP_CLOCK_DEFAULT)``, then
    the deprecated ``nvmlDeviceGetDefaultApplicationsClock``; None where neither answers."""
    clock_id = getattr(session.nv, "NVML_CLOCK_ID_APP_CLOCK_DEFAULT", 2)
    value = session.try_call("nvmlDeviceGetClock", handle, clock_type, clock_id)
    if not isinstance(value, (int, float)) or value <= 0:
        value = session.try_call("nvmlDeviceGetDefaultApplicationsClock", handle, clock_type)
    return _int_or_none(value) if isinstance(value, (int, float)) and value > 0 else None


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None


def versions(session: NvmlSession) -> dict[str, str | None]:
    """Driver, NVML and CUDA-driver versions as strings (None when unknown)."""
    cuda = session.try_call("nvmlSystemGetCudaDriverVersion")
    return {
        "driver_version": _opt_text(session.try_call("nvmlSystemGetDriverVersion")),
        "nvml_version": _opt_text(session.try_call("nvmlSystemGetNVMLVersion")),
        "cuda_driver_version": f"{cuda // 1000}.{(cuda % 1000) // 10}"
        if isinstance(cuda, int)
        else None,
    }


def _opt_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def describe_gpus(module: Any = None) -> dict[str, Any]:
    """Everything NVML can tell, JSON-ready; never raises.

    Returns:
        ``{"available": bool, "code": str, "reason": str, "fix": str, "driver_version",
        "nvml_version", "cuda_driver_version", "gpus": [GpuInfo.to_dict()...],
        "unreadable": [{"index", "code", "reason"}...]}``. Devices whose handle NVML refuses
        (GPUs hidden by cgroups) are listed under ``unreadable``, not fatal.
    """
    out: dict[str, Any] = {
        "available": False, "code": "", "reason": "", "fix": "", "gpus": [], "unreadable": []
    }
    try:
        with NvmlSession(module) as s:
            out.update(versions(s))
            opened, refused = s.readable_handles()
            out["gpus"] = [gpu_info(s, i, h).to_dict() for i, h in opened]
            out["unreadable"] = [
                {"index": i, "code": p.code, "reason": p.reason} for i, p in refused
            ]
            if opened:
                out["available"] = True
            elif refused:
                first = refused[0][1]
                out.update(code=first.code, reason=first.reason, fix=first.fix)
            else:
                out.update(code=NO_DEVICE_PROBLEM.code, reason=NO_DEVICE_PROBLEM.reason)
    except NvmlUnavailable as exc:
        out.update(code=exc.problem.code, reason=exc.problem.reason, fix=exc.problem.fix)
    return out
