"""Choose the energy meter for a device (NVML on CUDA, RAPL on CPU where readable)."""

from __future__ import annotations

from attnbench.devices.base import Device
from attnbench.measure.energy import EnergyMeter, UnavailableMeter
from attnbench.suite.schema import PowerSettings


def make_meter(device: Device, settings: PowerSettings) -> EnergyMeter:
    """The best meter for ``device`` under ``settings``; never raises for absence."""
    if settings.enabled == "off":
        return UnavailableMeter("power measurement disabled by the suite (power.enabled: off)")
    return UnavailableMeter(f"no energy meter is implemented for {device.kind} devices yet")
