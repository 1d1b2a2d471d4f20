"""CPU package energy from Linux RAPL powercap (``/sys/class/powercap/intel-rapl:N``).

Each top-level zone (one per CPU package; AMD Zen exposes the same interface) has
``energy_uj`` — microjoules, wrapping to 0 after ``max_energy_range_uj``. Energy is the
difference of readings at the start and end of the window, never an extrapolated sample
(mlco2/codecarbon#117). The value covers the whole package, other processes included. Since
Linux 5.10 ``energy_uj`` is readable by root only (CVE-2020-8694).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attnbench.case import Case
from attnbench.measure import power as pw
from attnbench.measure.energy import EnergyMeter, EnergyReport, RunCalls

POWERCAP_ROOT = Path("/sys/class/powercap")
METHOD_RAPL = "rapl"
NO_RAPL_REASON = "no readable RAPL powercap interface at /sys/class/powercap"
RAPL_FIX = (
    "run on Linux with RAPL (intel_rapl_common module) and make energy_uj readable "
    "(root only since Linux 5.10), or set power.enabled: auto"
)
_ZONE = re.compile(r"^intel-rapl:\d+$")


@dataclass(frozen=True)
class RaplZone:
    """One RAPL package zone.

    Attributes:
        path: the zone's sysfs directory.
        name: its ``name`` file (``package-0``).
        max_range_uj: counter range, µJ (the value wraps to 0 past it).
    """

    path: Path
    name: str
    max_range_uj: int

    def read_uj(self) -> int:
        """The energy counter now, µJ."""
        return int((self.path / "energy_uj").read_text().strip())


def delta_uj(start: int, end: int, max_range_uj: int) -> int:
    """Counter difference in µJ, allowing for one wraparound at ``max_range_uj``."""
    return end - start if end >= start else end + max_range_uj - start


def find_zones(root: Path = POWERCAP_ROOT) -> tuple[list[RaplZone], str]:
    """Readable top-level RAPL zones under ``root`` and, when there are none, why not."""
    try:
        dirs = sorted(p for p in root.iterdir() if _ZONE.match(p.name))
    except OSError:
        dirs = []
    if not dirs:
        return [], NO_RAPL_REASON if root == POWERCAP_ROOT else f"no RAPL zones under {root}"
    zones: list[RaplZone] = []
    for d in dirs:
        try:
            name = (d / "name").read_text().strip() if (d / "name").exists() else d.name
            zone = RaplZone(d, name, int((d / "max_energy_range_uj").read_text().strip()))
            zone.read_uj()
        except (OSError, ValueError):
            continue
        zones.append(zone)
    if not zones:
        return [], (
            f"RAPL zones exist under {root} but energy_uj is not readable "
            "(root only since Linux 5.10)"
        )
    return zones, ""


class RaplMeter(EnergyMeter):
    """CPU package energy around a window of repeated calls.

    Args:
        zones: the package zones to sum.
        min_window_s: shortest window, seconds.
        clock: seconds, monotonic (tests inject a fake).
    """

    def __init__(
        self,
        zones: list[RaplZone],
        min_window_s: float = 1.0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.zones = zones
        self.min_window_s = min_window_s
        self.clock = clock

    @property
    def available(self) -> bool:
        return True

    def status(self) -> dict[str, Any]:
        return {
            "method": METHOD_RAPL,
            "available": True,
            "reason": "",
            "scope": "cpu_package",
            "zones": [z.name for z in self.zones],
        }

    def measure(self, run_calls: RunCalls, per_call_s: float, case: Case) -> EnergyReport:
        """Energy per call from the summed package counters (µJ → J)."""
        n = pw.chunk_calls(per_call_s, self.min_window_s)
        start = [z.read_uj() for z in self.zones]
        t0 = self.clock()
        calls = pw.fill_window(run_calls, n, self.min_window_s, self.clock, t0)
        t1 = self.clock()
        end = [z.read_uj() for z in self.zones]
        total_uj = sum(
            delta_uj(s, e, z.max_range_uj) for s, e, z in zip(start, end, self.zones, strict=True)
        )
        window_s = t1 - t0
        metrics: dict[str, float] = {"energy/window_s": window_s}
        warnings: tuple[str, ...] = ()
        reason = "CPU package energy (whole package, other processes included)"
        if total_uj > 0 and calls > 0 and window_s > 0:
            joules = total_uj / 1e6
            metrics["energy/joules_per_call"] = joules / calls
            metrics["energy/joules_per_token"] = joules / calls / case.tokens
            metrics["power/mean_w"] = joules / window_s
        else:
            warnings = ("ENERGY_COUNTER_STALLED",)
            reason = "the RAPL counter did not advance; energy omitted"
        details = {
            "calls": calls,
            "calls_per_chunk": n,
            "window_s": window_s,
            "method": METHOD_RAPL,
            "scope": "cpu_package",
            "zones": [z.name for z in self.zones],
        }
        return EnergyReport(METHOD_RAPL, reason, metrics, warnings, details)
