"""Number formatting: exact strings, unit boundaries, significant figures."""

from __future__ import annotations

import math

import pytest

from attnbench.report.format import (
    DASH,
    format_bytes,
    format_energy,
    format_error,
    format_percent,
    format_ratio,
    format_sci,
    format_sig,
    format_tflops,
    format_time,
    round_sig,
    time_sig_figs,
    truncate,
)


@pytest.mark.parametrize(
    ("ms", "expected"),
    [
        (0.00005, "50.0 ns"),
        (0.0812, "81.2 µs"),
        (0.02131, "21.3 µs"),
        (0.1762, "176 µs"),
        (0.9996, "1.00 ms"),  # rounding reaches the next unit
        (1.0, "1.00 ms"),
        (12.345, "12.3 ms"),
        (999.6, "1.00 s"),
        (1234.5, "1.23 s"),
        (2e6, "2000 s"),
        (0.0, "0 ms"),
        (math.nan, DASH),
    ],
)
def test_format_time(ms: float, expected: str) -> None:
    assert format_time(ms) == expected


def test_format_time_fewer_figures() -> None:
    assert format_time(1.2345, sig=2) == "1.2 ms"
    assert format_time(0.1041, sig=2) == "104 µs"  # not "100 µs"
    assert format_time(0.5, sig=2) == "500 µs"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (1023.6, "1.00 KiB"),
        (1024, "1.00 KiB"),
        (1536, "1.50 KiB"),
        (8.25 * 1024**2, "8.25 MiB"),
        (3 * 1024**3, "3.00 GiB"),
        (80 * 1024**3, "80.0 GiB"),
        (2 * 1024**4, "2.00 TiB"),
        (math.inf, DASH),
    ],
)
def test_format_bytes(n: float, expected: str) -> None:
    assert format_bytes(n) == expected


@pytest.mark.parametrize(
    ("joules", "expected"),
    [
        (0.0123, "12.3 mJ"),
        (1.5, "1.50 J"),
        (4.56e-5, "45.6 µJ"),
        (0.99996, "1.00 J"),
        (2500.0, "2.50 kJ"),
        (0.0, "0 J"),
    ],
)
def test_format_energy(joules: float, expected: str) -> None:
    assert format_energy(joules) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (312.46, "312"),
        (0.5, "0.500"),
        (0.0451, "0.0451"),
        (0.000123, "1.23e-4"),
        (1234.7, "1235"),  # integer digits are never zeroed
        (104.1, "104"),
        (-2.5, "-2.50"),
        (0, "0"),
    ],
)
def test_format_sig(x: float, expected: str) -> None:
    assert format_sig(x) == expected


def test_format_tflops_is_three_figures_without_unit() -> None:
    assert format_tflops(405.1258) == "405"
    assert format_tflops(28.77) == "28.8"


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.0041, "0.41%"), (0.012, "1.2%"), (0.12, "12%"), (0.0999, "10%"), (1.0, "100%"), (0, "0%")],
)
def test_format_percent(fraction: float, expected: str) -> None:
    assert format_percent(fraction) == expected


def test_format_error_and_sci() -> None:
    assert format_error(0.00391) == "3.9e-3"
    assert format_error(0.406) == "4.1e-1"
    assert format_error(0.0) == "0"
    assert format_sci(12345.0, 3) == "1.23e4"


def test_format_ratio() -> None:
    assert format_ratio(1.853) == "1.85×"
    assert format_ratio(0.5) == "0.500×"
    assert format_ratio(math.inf) == DASH


def test_round_sig() -> None:
    assert round_sig(0.012345, 2) == 0.012
    assert round_sig(98765, 3) == 98800
    assert round_sig(0.0, 3) == 0.0


@pytest.mark.parametrize(
    ("rel_iqr", "samples", "expected"),
    [
        (0.01, 100, 3),  # median known to ~0.16%: three figures
        (0.2, 10, 2),  # ~10%: two figures
        (0.9, 3, 2),  # never fewer than two
        (0.0, 100, 3),  # no noise information: the maximum
        (None, None, 3),
    ],
)
def test_time_sig_figs(rel_iqr: float | None, samples: float | None, expected: int) -> None:
    assert time_sig_figs(rel_iqr, samples) == expected


def test_truncate() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("first line\nsecond", 40) == "first line"
    assert truncate("abcdefghij", 5) == "abcd…"
    assert truncate("", 5) == ""
