"""Telemetry sampling (a background thread) and the pure arithmetic of an energy window.

The sampler calls a ``read()`` function every ``period_s`` and keeps timestamped
:class:`Sample` s. :class:`NvmlReader` is the ``read()`` for a GPU: power (the instant field
``NVML_FI_DEV_POWER_INSTANT`` where the driver has it, else ``nvmlDeviceGetPowerUsage``, a 1 s
average on Ampere-and-newer), SM and memory clocks, temperature, utilisation, memory used and
the clocks-event (throttle) reasons bitmask. Everything below the reader is pure and tested
with scripted numbers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from attnbench.measure.nvml import NvmlSession, NvmlUnavailable, classify_error

# Clocks-event reason bits (nvml.h nvmlClocksEventReason*, same values as the older
# nvmlClocksThrottleReason*), decoded to stable names.
REASON_BITS: tuple[tuple[int, str], ...] = (
    (0x1, "GPU_IDLE"),
    (0x2, "APPLICATIONS_CLOCKS_SETTING"),
    (0x4, "SW_POWER_CAP"),
    (0x8, "HW_SLOWDOWN"),
    (0x10, "SYNC_BOOST"),
    (0x20, "SW_THERMAL"),
    (0x40, "HW_THERMAL"),
    (0x80, "HW_POWER_BRAKE"),
    (0x100, "DISPLAY_CLOCK_SETTING"),
)
THROTTLING_REASONS = frozenset(
    {"SW_POWER_CAP", "HW_SLOWDOWN", "SW_THERMAL", "HW_THERMAL", "HW_POWER_BRAKE"}
)
"""Reasons that mean the GPU slowed down against its will (GPU_IDLE etc. do not)."""

POWER_INSTANT = "instant"
POWER_AVERAGE = "average"


@dataclass(frozen=True)
class Sample:
    """One telemetry reading; None = not available on this GPU.

    Attributes:
        t_s: timestamp, seconds (the sampler's clock).
        power_w: board power, W.
        sm_mhz: SM clock, MHz.
        mem_mhz: memory clock, MHz.
        temp_c: GPU temperature, °C.
        util_pct: GPU utilisation, %.
        mem_used_bytes: device memory used, bytes.
        reasons: clocks-event reasons bitmask.
    """

    t_s: float
    power_w: float | None = None
    sm_mhz: float | None = None
    mem_mhz: float | None = None
    temp_c: float | None = None
    util_pct: float | None = None
    mem_used_bytes: int | None = None
    reasons: int | None = None


Reader = Callable[[float], Sample]


class Sampler:
    """Calls ``read(t)`` every ``period_s`` on a daemon thread while started.

    Errors raised by ``read`` are recorded (first message kept per distinct text) and sampling
    goes on. Tests drive it by hand with :meth:`sample_once` and an injected ``clock``.
    """

    def __init__(
        self, read: Reader, period_s: float, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.read = read
        self.period_s = max(period_s, 0.001)
        self.clock = clock
        self.samples: list[Sample] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample_once(self) -> None:
        """Take one reading now (recording an error instead when it fails)."""
        try:
            self.samples.append(self.read(self.clock()))
        except Exception as exc:
            text = str(exc)
            if text not in self.errors:
                self.errors.append(text)

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            self.sample_once()

    def start(self) -> None:
        """Take a first reading and start the thread."""
        self._stop.clear()
        self.sample_once()
        self._thread = threading.Thread(target=self._loop, name="attnbench-nvml", daemon=True)
        self._thread.start()

    def stop(self) -> list[Sample]:
        """Stop the thread, take a last reading, return all samples."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.sample_once()
        return self.samples

    def achieved_period_ms(self) -> float | None:
        """Mean interval between samples, ms (None with fewer than two)."""
        return achieved_period_ms([s.t_s for s in self.samples])


# --------------------------------------------------------------------------- arithmetic


def achieved_period_ms(times: Sequence[float]) -> float | None:
    """Mean spacing of ``times`` (seconds) in ms; None with fewer than two."""
    if len(times) < 2:
        return None
    return (times[-1] - times[0]) / (len(times) - 1) * 1000.0


def counter_energy_j(start_mj: float, end_mj: float) -> float | None:
    """Energy between two readings of NVML's total-energy counter (mJ) in J.

    Returns None when the counter did not advance (a stalled counter is never 0 J).
    """
    delta = end_mj - start_mj
    return delta / 1000.0 if delta > 0 else None


def trapezoid_energy_j(times_s: Sequence[float], powers_w: Sequence[float]) -> float | None:
    """Integrate power samples (W) over time (s) with the trapezoid rule, in J (W·s).

    Returns None with fewer than two samples.
    """
    if len(times_s) != len(powers_w):
        raise ValueError("times and powers differ in length")
    if len(times_s) < 2:
        return None
    total = 0.0
    for i in range(1, len(times_s)):
        total += (times_s[i] - times_s[i - 1]) * (powers_w[i] + powers_w[i - 1]) / 2.0
    return total


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def present(samples: Sequence[Sample], attr: str) -> list[float]:
    """The non-None values of ``attr`` across ``samples``."""
    return [float(v) for s in samples if (v := getattr(s, attr)) is not None]


def decode_reasons(mask: int) -> tuple[str, ...]:
    """Names of the set bits of a clocks-event reasons bitmask (unknown bits as hex)."""
    names = [name for bit, name in REASON_BITS if mask & bit]
    known = 0
    for bit, _ in REASON_BITS:
        known |= bit
    rest = mask & ~known
    bit = 1
    while rest:
        if rest & bit:
            names.append(f"UNKNOWN_0x{bit:x}")
            rest &= ~bit
        bit <<= 1
    return tuple(names)


@dataclass(frozen=True)
class ThrottleSummary:
    """What the clocks did in a window.

    Attributes:
        reasons_seen: every decoded reason seen, sorted.
        throttling_seen: the subset in :data:`THROTTLING_REASONS`.
        threshold_mhz: SM clock below which a busy sample counts as throttled, MHz.
        low_clock_samples: busy samples below the threshold.
        throttled: True when the SM clock fell below the threshold (or, without a reference
            clock, when a throttling reason was seen).
    """

    reasons_seen: tuple[str, ...] = ()
    throttling_seen: tuple[str, ...] = ()
    threshold_mhz: float | None = None
    low_clock_samples: int = 0
    throttled: bool = False


def throttle_summary(
    samples: Sequence[Sample], reference_mhz: float | None, fraction: float
) -> ThrottleSummary:
    """Decide THROTTLED for a window, nvbench-style.

    Args:
        samples: telemetry of the window.
        reference_mhz: default applications SM clock (or max clock when unknown), MHz.
        fraction: a busy sample below ``fraction × reference_mhz`` is throttled.

    Samples flagged GPU_IDLE are ignored for the clock test: an idle GPU clocks down by design.
    """
    seen: set[str] = set()
    for s in samples:
        if s.reasons:
            seen.update(decode_reasons(s.reasons))
    throttling = tuple(sorted(seen & THROTTLING_REASONS))
    if not reference_mhz:
        return ThrottleSummary(tuple(sorted(seen)), throttling, None, 0, bool(throttling))
    threshold = fraction * reference_mhz
    low = sum(
        1
        for s in samples
        if s.sm_mhz is not None and s.sm_mhz < threshold and not (s.reasons or 0) & 0x1
    )
    return ThrottleSummary(tuple(sorted(seen)), throttling, threshold, low, low > 0)


@dataclass
class WindowTelemetry:
    """Summary metrics of a window's samples (catalog keys), plus power for integration."""

    metrics: dict[str, float] = field(default_factory=dict)
    integrated_j: float | None = None


def summarize(samples: Sequence[Sample], t0: float, t1: float) -> WindowTelemetry:
    """Catalog metrics from the samples inside ``[t0, t1]`` (seconds)."""
    inside = [s for s in samples if t0 <= s.t_s <= t1] or list(samples)
    out = WindowTelemetry()
    powered = [s for s in inside if s.power_w is not None]
    out.integrated_j = trapezoid_energy_j(
        [s.t_s for s in powered], [float(s.power_w) for s in powered if s.power_w is not None]
    )
    m = out.metrics
    _put(m, "power/max_w", max(present(inside, "power_w"), default=None))
    _put(m, "clock/sm_min_mhz", min(present(inside, "sm_mhz"), default=None))
    _put(m, "clock/sm_mean_mhz", mean(present(inside, "sm_mhz")))
    _put(m, "clock/mem_mean_mhz", mean(present(inside, "mem_mhz")))
    _put(m, "temperature/max_c", max(present(inside, "temp_c"), default=None))
    _put(m, "utilization/gpu_mean_pct", mean(present(inside, "util_pct")))
    _put(m, "memory/device_used_max_bytes", max(present(inside, "mem_used_bytes"), default=None))
    _put(m, "telemetry/sample_period_ms", achieved_period_ms([s.t_s for s in inside]))
    return out


def _put(metrics: dict[str, float], key: str, value: float | None) -> None:
    if value is not None:
        metrics[key] = float(value)


# --------------------------------------------------------------------------- NVML reader


class NvmlReader:
    """Reads one GPU's telemetry through an open :class:`NvmlSession`.

    ``power_source`` is ``instant`` when ``NVML_FI_DEV_POWER_INSTANT`` answers, else
    ``average`` (``nvmlDeviceGetPowerUsage``: 1 s average on Ampere-and-newer except GA100).
    """

    def __init__(self, session: NvmlSession, handle: Any) -> None:
        self.session = session
        self.handle = handle
        self.nv = session.nv
        self.power_source = POWER_INSTANT if self._instant_power_w() is not None else POWER_AVERAGE
        self._reasons_fn = self._pick_reasons_fn()

    def _instant_power_w(self) -> float | None:
        field_id = getattr(self.nv, "NVML_FI_DEV_POWER_INSTANT", None)
        if field_id is None:
            return None
        try:
            values = self.nv.nvmlDeviceGetFieldValues(self.handle, [field_id])
            return field_value(values[0]) / 1000.0
        except Exception:
            return None

    def _pick_reasons_fn(self) -> str | None:
        for name in (
            "nvmlDeviceGetCurrentClocksEventReasons",
            "nvmlDeviceGetCurrentClocksThrottleReasons",
        ):
            if self.session.try_call(name, self.handle) is not None:
                return name
        return None

    def power_w(self) -> float:
        """Board power now, W (raises :class:`NvmlUnavailable` on NVML errors)."""
        if self.power_source == POWER_INSTANT:
            value = self._instant_power_w()
            if value is not None:
                return value
        return float(self.session.call("nvmlDeviceGetPowerUsage", self.handle)) / 1000.0

    def energy_mj(self) -> float:
        """NVML's total-energy counter, mJ since the driver loaded."""
        return float(self.session.call("nvmlDeviceGetTotalEnergyConsumption", self.handle))

    def read(self, t: float) -> Sample:
        """One :class:`Sample`; power failing raises, optional fields become None."""
        nv, h = self.nv, self.handle
        util = self.session.try_call("nvmlDeviceGetUtilizationRates", h)
        mem = self.session.try_call("nvmlDeviceGetMemoryInfo", h)
        reasons = self.session.try_call(self._reasons_fn, h) if self._reasons_fn else None
        return Sample(
            t_s=t,
            power_w=self.power_w(),
            sm_mhz=self.session.try_call("nvmlDeviceGetClockInfo", h, nv.NVML_CLOCK_SM),
            mem_mhz=self.session.try_call("nvmlDeviceGetClockInfo", h, nv.NVML_CLOCK_MEM),
            temp_c=self.session.try_call("nvmlDeviceGetTemperature", h, nv.NVML_TEMPERATURE_GPU),
            util_pct=float(util.gpu) if util is not None else None,
            mem_used_bytes=int(mem.used) if mem is not None else None,
            reasons=int(reasons) if reasons is not None else None,
        )


_VALUE_ATTRS = ("dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal")


def field_value(fv: Any) -> float:
    """The number in an ``nvmlFieldValue_t`` (by its ``valueType``).

    Raises:
        NvmlUnavailable: the field reported a non-zero ``nvmlReturn``.
    """
    ret = int(getattr(fv, "nvmlReturn", 0))
    if ret != 0:
        err = Exception(f"field value returned NVML code {ret}")
        err.value = ret  # type: ignore[attr-defined]
        raise NvmlUnavailable(classify_error(err))
    vtype = int(getattr(fv, "valueType", 1))
    attr = _VALUE_ATTRS[vtype] if 0 <= vtype < len(_VALUE_ATTRS) else "uiVal"
    return float(getattr(fv.value, attr))


# --------------------------------------------------------------------------- window


def chunk_calls(per_call_s: float, min_window_s: float, chunks: int = 10) -> int:
    """Calls per ``run_calls`` chunk so about ``chunks`` chunks fill ``min_window_s``.

    Args:
        per_call_s: median time of one call, seconds (<= 0 or NaN: unknown, 1 call).
        min_window_s: target window, seconds.
        chunks: how many chunks the window should take.
    """
    if not per_call_s > 0 or not min_window_s > 0:
        return 1
    return max(1, int(min_window_s / chunks / per_call_s))


def fill_window(
    run_calls: Callable[[int], None],
    n: int,
    min_window_s: float,
    clock: Callable[[], float],
    t0: float,
    max_chunks: int = 1_000_000,
) -> int:
    """Call ``run_calls(n)`` until ``min_window_s`` has passed since ``t0``; returns calls."""
    calls = 0
    for _ in range(max_chunks):
        run_calls(n)
        calls += n
        if clock() - t0 >= min_window_s:
            break
    return calls
