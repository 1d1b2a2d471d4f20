"""A scripted stand-in for the ``pynvml`` module, installed at attnbench's import boundary.

Every reading is a function of a clock (a :class:`FakeClock`, or ``time.perf_counter`` for tests
that run the real sampler thread), so windows, counters and samples are exact. Errors are
raised as ``NVMLError`` objects carrying the NVML return code in ``.value``, like the real
bindings.

It is strict where the real library is: the total-energy counter steps every
``counter_period_s`` instead of moving continuously; a GPU hidden from the process by cgroups
(``refuse``) fails ``nvmlDeviceGetHandleByIndex``/``ByUUID`` with that code; an index past the
count is INVALID_ARGUMENT; handle functions accept only handles this fake issued, and
``nvmlDeviceGetHandleByUUID`` only a ``GPU-``/``MIG-`` UUID string.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_OPERATING_SYSTEM = 17
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_UNKNOWN = 999


class NVMLError(Exception):
    """Like pynvml.NVMLError: ``value`` is the NVML return code."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return f"NVML error {self.value}"


class FakeClock:
    """Seconds that only move when told to (``advance``/``sleep``)."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt

    sleep = advance


Script = Callable[[float], float]


def const(value: float) -> Script:
    return lambda t: value


@dataclass
class FakeGpu:
    """One scripted GPU. ``energy_mj``/``power_w``/... are functions of the fake time (s).

    ``energy_mj=None`` means the counter is not supported; ``instant_power=False`` means the
    power field is missing (only the averaged ``nvmlDeviceGetPowerUsage`` works).
    ``fail`` maps an NVML function name to a predicate of time: when it holds, the call raises
    ``NVMLError(fail_code)``. ``counter_period_s`` is the energy counter's step period (the
    counter reads ``energy_mj`` at the last step). ``refuse`` is the code with which NVML
    refuses to open this GPU's handle (a GPU outside the job's cgroup).
    ``default_sm_mhz=None`` models a GPU without a default applications clock (GeForce).
    """

    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-11111111-2222-3333-4444-555555555555"
    bus_id: str = "00000000:17:00.0"
    energy_mj: Script | None = field(default_factory=lambda: const(1000.0))
    power_w: Script = field(default_factory=lambda: const(300.0))
    instant_power: bool = True
    sm_mhz: Script = field(default_factory=lambda: const(1980.0))
    mem_mhz: Script = field(default_factory=lambda: const(2619.0))
    temp_c: Script = field(default_factory=lambda: const(60.0))
    util_pct: Script = field(default_factory=lambda: const(99.0))
    reasons: Script = field(default_factory=lambda: const(0))
    mem_used: int = 10 * 2**30
    mem_total: int = 80 * 2**30
    power_limit_mw: int = 700_000
    default_sm_mhz: int | None = 1980
    max_sm_mhz: int = 1980
    max_mem_mhz: int = 2619
    mig: bool = False
    persistence: bool = True
    fail: dict[str, Callable[[float], bool]] = field(default_factory=dict)
    fail_code: int = NVML_ERROR_UNKNOWN
    counter_period_s: float = 0.02
    refuse: int | None = None


class FakeNvml:
    """Module-like object with the pynvml names attnbench uses."""

    NVMLError = NVMLError
    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2
    NVML_TEMPERATURE_GPU = 0
    NVML_FI_DEV_POWER_INSTANT = 186
    NVML_CLOCK_ID_APP_CLOCK_DEFAULT = 2
    NVML_VALUE_TYPE_UNSIGNED_INT = 1

    def __init__(
        self,
        gpus: list[FakeGpu] | None = None,
        *,
        clock: Callable[[], float] | None = None,
        init_error: int | None = None,
        new_reasons_api: bool = True,
    ) -> None:
        self.gpus = gpus if gpus is not None else [FakeGpu()]
        self.clock = clock or FakeClock()
        self.init_error = init_error
        self.inits = 0
        self.shutdowns = 0
        if new_reasons_api:
            self.nvmlDeviceGetCurrentClocksEventReasons = self._reasons
        else:
            self.nvmlDeviceGetCurrentClocksThrottleReasons = self._reasons

    # -- helpers
    def _check(self, gpu: FakeGpu, fn: str) -> None:
        if not any(gpu is g for g in self.gpus) or gpu.refuse is not None:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)  # not a handle NVML gave out
        pred = gpu.fail.get(fn)
        if pred is not None and pred(self.clock()):
            raise NVMLError(gpu.fail_code)

    # -- library
    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.inits += 1

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.54.15"

    def nvmlSystemGetNVMLVersion(self) -> str:
        return "12.550.54.15"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 12040

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> FakeGpu:
        if not isinstance(i, int) or not 0 <= i < len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        gpu = self.gpus[i]
        if gpu.refuse is not None:
            raise NVMLError(gpu.refuse)
        return gpu

    def nvmlDeviceGetHandleByUUID(self, uuid: str | bytes) -> FakeGpu:
        text = uuid.decode() if isinstance(uuid, bytes) else uuid
        if not isinstance(text, str) or not text.startswith(("GPU-", "MIG-")):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        for gpu in self.gpus:
            if gpu.uuid.lower() == text.lower():
                if gpu.refuse is not None:
                    raise NVMLError(gpu.refuse)
                return gpu
        raise NVMLError(NVML_ERROR_NOT_FOUND)

    def nvmlDeviceGetIndex(self, h: FakeGpu) -> int:
        self._check(h, "nvmlDeviceGetIndex")
        return next(i for i, g in enumerate(self.gpus) if g is h)

    # -- static
    def nvmlDeviceGetName(self, h: FakeGpu) -> str:
        self._check(h, "nvmlDeviceGetName")
        return h.name

    def nvmlDeviceGetUUID(self, h: FakeGpu) -> str:
        self._check(h, "nvmlDeviceGetUUID")
        return h.uuid

    def nvmlDeviceGetPciInfo(self, h: FakeGpu) -> Any:
        self._check(h, "nvmlDeviceGetPciInfo")
        return SimpleNamespace(busId=h.bus_id)

    def nvmlDeviceGetMemoryInfo(self, h: FakeGpu) -> Any:
        self._check(h, "nvmlDeviceGetMemoryInfo")
        return SimpleNamespace(total=h.mem_total, used=h.mem_used, free=h.mem_total - h.mem_used)

    def nvmlDeviceGetEnforcedPowerLimit(self, h: FakeGpu) -> int:
        self._check(h, "nvmlDeviceGetEnforcedPowerLimit")
        return h.power_limit_mw

    def nvmlDeviceGetClock(self, h: FakeGpu, kind: int, clock_id: int) -> int:
        self._check(h, "nvmlDeviceGetClock")
        if clock_id != self.NVML_CLOCK_ID_APP_CLOCK_DEFAULT or h.default_sm_mhz is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return h.default_sm_mhz if kind == self.NVML_CLOCK_SM else h.max_mem_mhz

    def nvmlDeviceGetDefaultApplicationsClock(self, h: FakeGpu, kind: int) -> int:
        self._check(h, "nvmlDeviceGetDefaultApplicationsClock")
        if h.default_sm_mhz is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return h.default_sm_mhz

    def nvmlDeviceGetMaxClockInfo(self, h: FakeGpu, kind: int) -> int:
        self._check(h, "nvmlDeviceGetMaxClockInfo")
        return h.max_sm_mhz if kind == self.NVML_CLOCK_SM else h.max_mem_mhz

    def nvmlDeviceGetPersistenceMode(self, h: FakeGpu) -> int:
        self._check(h, "nvmlDeviceGetPersistenceMode")
        return int(h.persistence)

    def nvmlDeviceGetMigMode(self, h: FakeGpu) -> list[int]:
        self._check(h, "nvmlDeviceGetMigMode")
        return [int(h.mig), int(h.mig)]

    # -- dynamic
    def nvmlDeviceGetTotalEnergyConsumption(self, h: FakeGpu) -> int:
        self._check(h, "nvmlDeviceGetTotalEnergyConsumption")
        if h.energy_mj is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        period = h.counter_period_s
        stepped = math.floor(self.clock() / period + 1e-9) * period if period > 0 else self.clock()
        return round(h.energy_mj(stepped))

    def nvmlDeviceGetFieldValues(self, h: FakeGpu, ids: list[int]) -> list[Any]:
        self._check(h, "nvmlDeviceGetFieldValues")
        ok = h.instant_power and ids == [self.NVML_FI_DEV_POWER_INSTANT]
        value = SimpleNamespace(uiVal=round(h.power_w(self.clock()) * 1000))
        return [SimpleNamespace(nvmlReturn=0 if ok else 3, valueType=1, value=value)]

    def nvmlDeviceGetPowerUsage(self, h: FakeGpu) -> int:
        self._check(h, "nvmlDeviceGetPowerUsage")
        return round(h.power_w(self.clock()) * 1000)

    def nvmlDeviceGetClockInfo(self, h: FakeGpu, kind: int) -> int:
        self._check(h, "nvmlDeviceGetClockInfo")
        fn = h.sm_mhz if kind == self.NVML_CLOCK_SM else h.mem_mhz
        return round(fn(self.clock()))

    def nvmlDeviceGetTemperature(self, h: FakeGpu, sensor: int) -> int:
        self._check(h, "nvmlDeviceGetTemperature")
        return round(h.temp_c(self.clock()))

    def nvmlDeviceGetUtilizationRates(self, h: FakeGpu) -> Any:
        self._check(h, "nvmlDeviceGetUtilizationRates")
        return SimpleNamespace(gpu=round(h.util_pct(self.clock())), memory=0)

    def _reasons(self, h: FakeGpu) -> int:
        self._check(h, "nvmlDeviceGetCurrentClocksEventReasons")
        return int(h.reasons(self.clock()))


def torch_props(
    uuid: str | None = "11111111-2222-3333-4444-555555555555",
    name: str = "NVIDIA H100 80GB HBM3",
    pci: tuple[int, int, int] | None = None,
) -> Any:
    """A stand-in for ``torch.cuda.get_device_properties(i)`` (uuid without ``GPU-``)."""
    props = SimpleNamespace(name=name, uuid=uuid, total_memory=80 * 2**30)
    if pci is not None:
        props.pci_domain_id, props.pci_bus_id, props.pci_device_id = pci
    return props


def cuda_device(props: Any | None = None) -> Any:
    """A stand-in CUDA :class:`Device` for make_meter (kind, name, props)."""
    return SimpleNamespace(kind="cuda", name="cuda:0", index=0, props=props or torch_props())
