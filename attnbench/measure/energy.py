"""Energy measurement interface used by the runner.

A meter measures one *window* per case: it is handed ``run_calls(n)``, which runs ``n`` calls
of the case and synchronizes, and repeats it until the window is long enough. Where energy
cannot be measured the report says ``unavailable`` with the reason: never 0 J.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from attnbench.case import Case

UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class EnergyReport:
    """What a meter measured for one case.

    Attributes:
        method: ``nvml_energy_counter`` | ``nvml_power_integration`` | ``rapl`` |
            ``unavailable``.
        reason: why energy is unavailable, or which fallback was taken; empty otherwise.
        metrics: catalog keys (``energy/joules_per_call``, ``power/mean_w``...).
        warnings: stable codes (``ENERGY_WINDOW_TOO_SHORT``, ``THROTTLED``...).
        details: JSON-ready extras (calls, window, throttle reasons seen by name...).
    """

    method: str
    reason: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


RunCalls = Callable[[int], None]


class EnergyMeter(ABC):
    """Measures energy and telemetry around a synchronized window of calls."""

    @property
    @abstractmethod
    def available(self) -> bool:
        """Whether this meter can measure anything."""

    @abstractmethod
    def status(self) -> dict[str, Any]:
        """JSON-ready status: method, availability, reason (stored in run settings)."""

    @abstractmethod
    def measure(self, run_calls: RunCalls, per_call_s: float, case: Case) -> EnergyReport:
        """Measure one case; ``per_call_s`` is the median call time, to size the window."""

    def idle_power_w(self) -> float | None:
        """Idle power measured once before the run, watts (None when not measured)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the library handle (e.g. nvmlShutdown)."""


class UnavailableMeter(EnergyMeter):
    """A meter that records, for every case, why energy was not measured."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    @property
    def available(self) -> bool:
        return False

    def status(self) -> dict[str, Any]:
        return {"method": UNAVAILABLE, "available": False, "reason": self.reason}

    def measure(self, run_calls: RunCalls, per_call_s: float, case: Case) -> EnergyReport:
        return EnergyReport(method=UNAVAILABLE, reason=self.reason)
