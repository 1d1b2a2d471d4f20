"""Number formatting for reports: significant figures, units picked per value.

Every helper takes a plain number in the unit its name says (milliseconds, bytes, joules,
a fraction) and returns a short string. Values are rounded to significant figures *before*
the unit is chosen, so 999.6 µs prints as ``1.00 ms`` rather than ``1000 µs``.

Time columns follow ``torch.utils.benchmark.Compare``: a median is printed with no more
significant figures than its noise justifies (:func:`time_sig_figs`), so a noisy ``1.2 ms``
is not dressed up as ``1.234 ms``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

DASH = "–"
"""Printed where a value is missing."""

NOT_AVAILABLE = "n/a"
"""Printed where a measurement could not be taken (e.g. energy without NVML)."""

_TIME_UNITS_NS: Sequence[tuple[str, float]] = (("ns", 1.0), ("µs", 1e3), ("ms", 1e6), ("s", 1e9))
_ENERGY_UNITS_NJ: Sequence[tuple[str, float]] = (
    ("nJ", 1.0),
    ("µJ", 1e3),
    ("mJ", 1e6),
    ("J", 1e9),
    ("kJ", 1e12),
)
_BYTE_UNITS: Sequence[tuple[str, float]] = tuple(
    (name, 1024.0**i) for i, name in enumerate(("B", "KiB", "MiB", "GiB", "TiB", "PiB"))
)
_NOTCH = 1.57
"""Half-width of a median's ~95% interval in IQR/sqrt(n) units (McGill, Tukey & Larsen 1978)."""


def round_sig(x: float, sig: int = 3) -> float:
    """Round ``x`` to ``sig`` significant figures (0, NaN and inf are returned unchanged)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, sig - 1 - math.floor(math.log10(abs(x))))


def format_sig(x: float, sig: int = 3) -> str:
    """``x`` with ``sig`` significant figures, trailing zeros kept.

    Figures are only ever dropped after the decimal point: integer digits are never zeroed
    (``format_sig(1234.7) == "1235"``, ``format_sig(104.1, 2) == "104"``), so a trimmed
    value never looks like a round number it is not. Magnitudes below 0.001 use a compact
    exponent (``1.20e-4``).

    Examples:
        ``format_sig(312.46) == "312"``, ``format_sig(0.5) == "0.500"``.
    """
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    rounded = round_sig(x, sig)
    if abs(rounded) < 1e-3:
        return format_sci(x, sig)
    decimals = max(sig - 1 - math.floor(math.log10(abs(rounded))), 0)
    return f"{x:.{decimals}f}"


def format_sci(x: float, sig: int = 2) -> str:
    """Scientific notation with a compact exponent: ``format_sci(0.00391) == "3.9e-3"``."""
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.{sig - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _scaled(value: float, units: Sequence[tuple[str, float]], sig: int) -> str:
    """Format ``value`` (given in the first unit) in the largest unit that keeps it >= 1.

    The unit is chosen on the raw value, then moved up one when rounding reaches the next
    unit (999.6 µs → ``1.00 ms``).
    """
    index = 0
    for i, (_, scale) in enumerate(units):
        if abs(value) >= scale:
            index = i
    if index + 1 < len(units) and abs(round_sig(value / units[index][1], sig)) >= (
        units[index + 1][1] / units[index][1]
    ):
        index += 1
    name, scale = units[index]
    return f"{format_sig(value / scale, sig)} {name}"


def format_time(ms: float, sig: int = 3) -> str:
    """A duration given in milliseconds, in ns/µs/ms/s: ``format_time(0.0812) == "81.2 µs"``."""
    if not math.isfinite(ms):
        return DASH
    if ms == 0:
        return "0 ms"
    return _scaled(ms * 1e6, _TIME_UNITS_NS, sig)


def format_bytes(n: float, sig: int = 3) -> str:
    """A byte count in binary units: ``format_bytes(1536) == "1.50 KiB"``; < 1 KiB is exact."""
    if not math.isfinite(n):
        return DASH
    if abs(round(n)) < 1024:
        return f"{round(n)} B"
    return _scaled(float(round(n)), _BYTE_UNITS, sig)


def format_energy(joules: float, sig: int = 3) -> str:
    """Energy in joules with an SI prefix: ``format_energy(0.0123) == "12.3 mJ"``."""
    if not math.isfinite(joules):
        return DASH
    if joules == 0:
        return "0 J"
    return _scaled(joules * 1e9, _ENERGY_UNITS_NJ, sig)


def format_tflops(tflops: float, sig: int = 3) -> str:
    """Throughput in TFLOP/s, unit left to the column header: ``"312"``, ``"0.0451"``."""
    return format_sig(tflops, sig)


def format_percent(fraction: float, sig: int = 2) -> str:
    """A fraction as a percentage: ``format_percent(0.0041) == "0.41%"``, ``0.12`` → ``"12%"``.

    Values of 10% and more print without decimals, whatever ``sig`` is.
    """
    if not math.isfinite(fraction):
        return DASH
    pct = fraction * 100
    if pct == 0:
        return "0%"
    if abs(round_sig(pct, sig)) >= 10:
        return f"{pct:.0f}%"
    return f"{format_sig(pct, sig)}%"


def format_error(err: float) -> str:
    """A numerical error, two significant figures in scientific form: ``"3.9e-3"``, ``"0"``."""
    return format_sci(err, 2)


def format_ratio(ratio: float) -> str:
    """A ratio to a baseline: ``format_ratio(1.853) == "1.85×"``."""
    if not math.isfinite(ratio):
        return DASH
    return f"{format_sig(ratio, 3)}×"


def time_sig_figs(rel_iqr: float | None, samples: float | None, max_sig: int = 3) -> int:
    """Significant figures a median time deserves, given its noise.

    The median's relative uncertainty ``u`` is estimated with the boxplot-notch rule,
    ``1.57 · rel_iqr / sqrt(n)``. ``torch.utils.benchmark.Compare`` keeps
    ``floor(log10(1 / u))`` figures; here the last printed digit may carry the uncertainty,
    so one more is kept, clamped to ``[2, max_sig]`` (one figure reads badly next to three).
    Without noise information ``max_sig`` is kept.

    Args:
        rel_iqr: (q3 - q1) / median of the samples, a fraction.
        samples: number of samples.
        max_sig: the most figures ever printed.
    """
    if rel_iqr is None or samples is None or samples < 1 or rel_iqr <= 0:
        return max_sig
    uncertainty = _NOTCH * rel_iqr / math.sqrt(samples)
    return min(max(math.floor(math.log10(1 / uncertainty)) + 1, 2), max_sig)


def truncate(text: str, width: int) -> str:
    """First line of ``text``, cut to ``width`` characters with an ellipsis when longer."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    if len(line) <= width:
        return line
    return line[: max(width - 1, 0)].rstrip() + "…"
