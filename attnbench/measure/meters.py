"""Choose the energy meter for a device (NVML on CUDA, RAPL on CPU where readable).

:class:`NvmlMeter` measures one synchronized window per case: read NVML's total-energy counter
(mJ), start the telemetry sampler, repeat ``run_calls(n)`` until the window lasts at least
``power.min_window_s``, stop the sampler, read the counter again. Energy per call is
ΔE / calls. GPUs without the counter integrate the sampled power instead. Reported energy is
GPU *board* energy from NVML, not wall power.

Warning codes: ``ENERGY_COUNTER_STALLED`` (counter did not advance: no energy metric),
``ENERGY_WINDOW_TOO_SHORT`` (window shorter than a counter update, or too few power samples:
no energy metric), ``NVML_ERROR`` (an NVML call failed mid-window; the run goes on),
``THROTTLED`` (SM clock fell below ``throttle_fraction`` × the default applications clock, or,
on GPUs without that clock such as GeForce cards, NVML reported a throttling reason).

The counter is not continuous: it steps every 20–100 ms depending on the GPU. The meter
measures the step period once (:meth:`NvmlMeter.calibrate`), makes every window span at least
``UPDATES_PER_WINDOW`` steps (longer than ``power.min_window_s`` where the counter is slow),
and stores the resulting bound on the relative error, period / window, as
``energy/rel_error_bound``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from attnbench.case import Case
from attnbench.devices.base import Device
from attnbench.errors import EnvironmentUnavailable
from attnbench.measure import power as pw
from attnbench.measure.energy import EnergyMeter, EnergyReport, RunCalls, UnavailableMeter
from attnbench.measure.gpu_info import GpuInfo, gpu_info
from attnbench.measure.nvml import (
    MIG_PROBLEM,
    NO_DEVICE_PROBLEM,
    NvmlProblem,
    NvmlSession,
    NvmlUnavailable,
)
from attnbench.suite.schema import PowerSettings

METHOD_COUNTER = "nvml_energy_counter"
METHOD_INTEGRATION = "nvml_power_integration"
COUNTER_UPDATE_S = 0.1
"""Assumed counter step period, s, until :meth:`NvmlMeter.calibrate` measures it (NVML's
energy counter updates every ~20–100 ms; the slowest is assumed)."""
UPDATES_PER_WINDOW = 20
"""Counter steps an energy window spans at least: a relative error bound of 5%."""
CALIBRATE_MAX_S = 1.0
"""Longest time spent watching the counter for its step period, s."""
CALIBRATE_POLL_S = 0.001

DISABLED_REASON = "power measurement disabled by the suite (power.enabled: off)"

W_STALLED = "ENERGY_COUNTER_STALLED"
W_TOO_SHORT = "ENERGY_WINDOW_TOO_SHORT"
W_NVML_ERROR = "NVML_ERROR"
W_THROTTLED = "THROTTLED"


class NvmlMeter(EnergyMeter):
    """Energy and telemetry of one GPU through NVML.

    Args:
        session: an open :class:`NvmlSession` (closed by :meth:`close`).
        handle: the NVML handle of the GPU the case runs on.
        info: its static facts (energy counter support, reference clocks).
        settings: the suite's power settings.
        clock: seconds, monotonic (tests inject a fake).
        sleep: sleeps for cooldown and idle baseline (tests inject a fake).
        threaded: sample on a background thread; False samples once after every chunk of
            calls instead (deterministic, for tests).
    """

    def __init__(
        self,
        session: NvmlSession,
        handle: Any,
        info: GpuInfo,
        settings: PowerSettings,
        *,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
        threaded: bool = True,
    ) -> None:
        self.session = session
        self.info = info
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.threaded = threaded
        self.reader = pw.NvmlReader(session, handle)
        self.method = METHOD_COUNTER if info.energy_counter else METHOD_INTEGRATION
        self.idle_w: float | None = None
        self.counter_period_s = COUNTER_UPDATE_S
        self.counter_period_source = "assumed"
        # The boost (max) clock is no reference: GPUs without a default applications clock
        # (GeForce) run below it under any sustained load, so every case would be THROTTLED.
        # There the throttle reasons alone decide.
        self.reference_mhz: int | None = info.default_sm_clock_mhz or None
        self.reference_kind = "default" if self.reference_mhz else "unavailable"

    @property
    def available(self) -> bool:
        return True

    def status(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "available": True,
            "reason": "",
            "scope": "gpu_board",
            "power_source": self.reader.power_source,
            "gpu": self.info.to_dict(),
            "requested_sample_period_ms": self.settings.sample_period_ms,
            "idle_w": self.idle_w,
            "counter_update_period_ms": self.counter_period_s * 1e3,
            "counter_update_period_source": self.counter_period_source,
            "min_window_s": self.window_s(),
            "throttle_check": "sm_clock" if self.reference_mhz else "reasons_only",
        }

    def calibrate(self) -> float:
        """Measure the energy counter's step period, s, by watching it change (once per run).

        Polls the counter until it has changed three times (two full periods) or
        ``CALIBRATE_MAX_S`` has passed; the period is the median spacing of the changes. Keeps
        the assumed ``COUNTER_UPDATE_S`` where the counter is missing or never moved.
        """
        if self.method != METHOD_COUNTER:
            return self.counter_period_s
        changes: list[float] = []
        try:
            last = self.reader.energy_mj()
            t0 = self.clock()
            while len(changes) < 3 and self.clock() - t0 < CALIBRATE_MAX_S:
                self.sleep(CALIBRATE_POLL_S)
                value = self.reader.energy_mj()
                if value != last:
                    changes.append(self.clock())
                    last = value
        except NvmlUnavailable:
            return self.counter_period_s
        gaps = sorted(b - a for a, b in itertools.pairwise(changes))
        if gaps and gaps[len(gaps) // 2] > 0:
            self.counter_period_s = gaps[len(gaps) // 2]
            self.counter_period_source = "measured"
        return self.counter_period_s

    def window_s(self) -> float:
        """Shortest energy window, s: ``min_window_s``, or ``UPDATES_PER_WINDOW`` steps."""
        if self.method != METHOD_COUNTER:
            return self.settings.min_window_s
        return max(self.settings.min_window_s, UPDATES_PER_WINDOW * self.counter_period_s)

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ helpers

    def _sampler(self) -> pw.Sampler:
        return pw.Sampler(self.reader.read, self.settings.sample_period_ms / 1000.0, self.clock)

    def _counter(self, errors: list[str]) -> float | None:
        try:
            return self.reader.energy_mj()
        except NvmlUnavailable as exc:
            errors.append(f"energy counter: {exc.problem.reason}")
            return None

    def _run(self, sampler: pw.Sampler, run_calls: RunCalls, n: int, t0: float) -> int:
        def chunk(k: int) -> None:
            run_calls(k)
            if not self.threaded:
                sampler.sample_once()

        if self.threaded:
            sampler.start()
        else:
            sampler.sample_once()
        try:
            return pw.fill_window(chunk, n, self.window_s(), self.clock, t0)
        finally:
            if self.threaded:
                sampler.stop()

    # ------------------------------------------------------------------ API

    def idle_power_w(self) -> float | None:
        """Measure idle board power over ``idle_baseline_s`` once, before the run, in W.

        The result is kept and reported as ``power/idle_w`` with every case. Returns None when
        ``idle_baseline_s`` is 0 or NVML fails.
        """
        duration = self.settings.idle_baseline_s
        if duration <= 0:
            return None
        errors: list[str] = []
        sampler = self._sampler()
        e0 = self._counter(errors) if self.method == METHOD_COUNTER else None
        t0 = self.clock()
        if self.threaded:
            sampler.start()
            self.sleep(duration)
            sampler.stop()
        else:
            sampler.sample_once()
            self.sleep(duration)
            sampler.sample_once()
        t1 = self.clock()
        e1 = self._counter(errors) if e0 is not None else None
        energy = pw.counter_energy_j(e0, e1) if e0 is not None and e1 is not None else None
        if energy is None:
            energy = pw.summarize(sampler.samples, t0, t1).integrated_j
        self.idle_w = energy / (t1 - t0) if energy is not None and t1 > t0 else None
        return self.idle_w

    def measure(self, run_calls: RunCalls, per_call_s: float, case: Case) -> EnergyReport:
        """Measure one case over a synchronized window of repeated calls (see module doc)."""
        errors: list[str] = []
        n = pw.chunk_calls(per_call_s, self.window_s())
        sampler = self._sampler()
        e0 = self._counter(errors) if self.method == METHOD_COUNTER else None
        t0 = self.clock()
        calls = self._run(sampler, run_calls, n, t0)
        t1 = self.clock()
        e1 = self._counter(errors) if e0 is not None else None
        errors += sampler.errors
        return self._report(case, calls, n, t0, t1, e0, e1, sampler, errors)

    def _report(
        self,
        case: Case,
        calls: int,
        n: int,
        t0: float,
        t1: float,
        e0: float | None,
        e1: float | None,
        sampler: pw.Sampler,
        errors: list[str],
    ) -> EnergyReport:
        window_s = t1 - t0
        tele = pw.summarize(sampler.samples, t0, t1)
        warnings: list[str] = []
        reasons: list[str] = []
        method, energy_j = self._energy(e0, e1, tele, warnings, reasons)
        counted = method == METHOD_COUNTER and energy_j is not None
        if counted and window_s < self.counter_period_s:
            warnings.append(W_TOO_SHORT)
            reasons.append(f"window {window_s:.3f} s is shorter than one counter update")
            energy_j = None
        metrics = dict(tele.metrics)
        metrics["energy/window_s"] = window_s
        if energy_j is not None and calls > 0 and window_s > 0:
            if counted:  # each end may be up to one step stale
                metrics["energy/rel_error_bound"] = self.counter_period_s / window_s
            metrics["energy/joules_per_call"] = energy_j / calls
            metrics["energy/joules_per_token"] = energy_j / calls / case.tokens
            metrics["power/mean_w"] = energy_j / window_s
        elif (powers := pw.present(sampler.samples, "power_w")) and window_s > 0:
            metrics["power/mean_w"] = sum(powers) / len(powers)
        if self.idle_w is not None:
            metrics["power/idle_w"] = self.idle_w
        if errors:
            warnings.append(W_NVML_ERROR)
            reasons.append("NVML error during the window: " + "; ".join(errors))
        throttle = pw.throttle_summary(
            sampler.samples, self.reference_mhz, self.settings.throttle_fraction
        )
        if throttle.throttled:
            warnings.append(W_THROTTLED)
        details = {
            "calls": calls,
            "calls_per_chunk": n,
            "window_s": window_s,
            "method": method,
            "scope": "gpu_board",
            "power_source": self.reader.power_source,
            "samples": len(sampler.samples),
            "sample_period_ms": pw.achieved_period_ms([s.t_s for s in sampler.samples]),
            "requested_sample_period_ms": self.settings.sample_period_ms,
            "energy_counter_start_mj": e0,
            "energy_counter_end_mj": e1,
            "throttle_reasons": list(throttle.reasons_seen),
            "throttling_reasons": list(throttle.throttling_seen),
            "low_clock_samples": throttle.low_clock_samples,
            "sm_clock_threshold_mhz": throttle.threshold_mhz,
            "sm_clock_reference_mhz": self.reference_mhz,
            "sm_clock_reference": self.reference_kind,
            "throttle_check": "sm_clock" if self.reference_mhz else "reasons_only",
            "counter_update_period_ms": self.counter_period_s * 1e3,
            "counter_update_period_source": self.counter_period_source,
            "nvml_errors": errors,
            "gpu_uuid": self.info.uuid,
        }
        return EnergyReport(method, "; ".join(reasons), metrics, tuple(warnings), details)

    def _energy(
        self,
        e0: float | None,
        e1: float | None,
        tele: pw.WindowTelemetry,
        warnings: list[str],
        reasons: list[str],
    ) -> tuple[str, float | None]:
        if self.method == METHOD_COUNTER and e0 is not None and e1 is not None:
            energy = pw.counter_energy_j(e0, e1)
            if energy is None:
                warnings.append(W_STALLED)
                reasons.append("the NVML energy counter did not advance; energy omitted")
            return METHOD_COUNTER, energy
        if self.method == METHOD_COUNTER:
            reasons.append("energy counter read failed; fell back to power integration")
        if self.reader.power_source == pw.POWER_AVERAGE:
            reasons.append("integrated NVML 1 s-average power readings")
        if tele.integrated_j is None:
            warnings.append(W_TOO_SHORT)
            reasons.append("fewer than two power samples in the window; energy omitted")
        return METHOD_INTEGRATION, tele.integrated_j


# ---------------------------------------------------------------------- factory


def make_meter(
    device: Device,
    settings: PowerSettings,
    *,
    nvml_module: Any = None,
    powercap_root: Path | None = None,
) -> EnergyMeter:
    """The best meter for ``device`` under ``settings``.

    Args:
        device: the device cases run on (``cuda`` devices need ``.props``).
        settings: ``power:`` of the suite.
        nvml_module: a pynvml stand-in (tests); the real pynvml otherwise.
        powercap_root: RAPL sysfs root (tests); ``/sys/class/powercap`` otherwise.

    Returns:
        An :class:`NvmlMeter`, a RAPL meter, or :class:`UnavailableMeter` with the reason.

    Raises:
        EnvironmentUnavailable: ``power.enabled: on`` and no meter is available (exit 3).
    """
    if settings.enabled == "off":
        return UnavailableMeter(DISABLED_REASON)
    if device.kind == "cuda":
        meter, problem = _cuda_meter(device, settings, nvml_module)
    elif device.kind == "cpu":
        meter, problem = _cpu_meter(settings, powercap_root)
    else:
        meter, problem = None, NvmlProblem("NO_METER", f"no energy meter for {device.kind}")
    if meter is not None:
        return meter
    assert problem is not None
    if settings.enabled == "on":
        fix = problem.fix or "set power.enabled: auto to record the reason and go on"
        raise EnvironmentUnavailable(
            f"energy measurement is required (power.enabled: on) but unavailable on "
            f"{device.name}: {problem.reason}. Fix: {fix}"
        )
    return UnavailableMeter(problem.reason)


def _cuda_meter(
    device: Device, settings: PowerSettings, module: Any
) -> tuple[EnergyMeter | None, NvmlProblem | None]:
    session = NvmlSession(module)
    try:
        session.open()
        if session.device_count() == 0:
            raise NvmlUnavailable(NO_DEVICE_PROBLEM)
        index, handle = _match(session, getattr(device, "props", None))
        info = gpu_info(session, index, handle)
        if info.mig_mode:
            raise NvmlUnavailable(MIG_PROBLEM)
        meter = NvmlMeter(session, handle, info, settings)
        if not info.energy_counter:
            meter.reader.power_w()  # integration needs power readings at least
        meter.calibrate()
        return meter, None
    except NvmlUnavailable as exc:
        session.close()
        return None, exc.problem


def _match(session: NvmlSession, props: Any) -> tuple[int, Any]:
    """NVML index and handle of the torch device; a MIG instance reports the MIG problem."""
    try:
        return session.handle_for_torch(props)
    except NvmlUnavailable:
        opened, _ = session.readable_handles()  # GPUs hidden from this job are skipped
        mig = (session.try_call("nvmlDeviceGetMigMode", h) for _, h in opened)
        if any(m is not None and m[0] for m in mig):
            raise NvmlUnavailable(MIG_PROBLEM) from None
        raise


def _cpu_meter(
    settings: PowerSettings, root: Path | None
) -> tuple[EnergyMeter | None, NvmlProblem | None]:
    from attnbench.measure import rapl

    zones, reason = rapl.find_zones(root if root is not None else rapl.POWERCAP_ROOT)
    if not zones:
        return None, NvmlProblem("RAPL_UNAVAILABLE", reason, rapl.RAPL_FIX)
    return rapl.RaplMeter(zones, settings.min_window_s), None
