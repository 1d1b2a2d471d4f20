"""Figures: what is drawn where (axes, lines, markers, fits), never pixels."""

from __future__ import annotations

import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from attnbench.report.bundle import build_bundle
from attnbench.report.forest import GateEntry, GateVerdict, forest_figure, forest_rows
from attnbench.report.plots import STATUS_MARKERS, ghost_value, metric_figure, png_bytes
from attnbench.report.scaling import fit_power_law, fit_series
from attnbench.report.series import MEMORY, TIME, Point, Series, build_series
from attnbench.report.writer import draw
from tests.report.test_bundle import STAMP, two_runs

FACET = (("pass", "fwd"), ("head_dim", 64), ("causal", False))


def _line(points: list[Point]) -> Series:
    return Series("run", "v", "v", FACET, tuple(points))


def test_ghost_prefers_the_estimate_then_the_fit_then_the_nearest_length() -> None:
    ok = [Point(1024, "ok", 1.0), Point(2048, "ok", 4.0)]
    oom = Point(8192, "oom", None, estimate=123.0)
    failed = Point(8192, "failed", None)
    line = _line([*ok, oom, failed])
    fit = fit_power_law([1024, 2048], [1.0, 4.0])
    assert ghost_value(oom, line, fit) == 123.0
    assert ghost_value(failed, line, fit) == pytest.approx(64.0)  # (8192/1024)^2 on the fit
    assert ghost_value(failed, line, None) == 4.0  # nearest measured length, 2048
    assert ghost_value(failed, _line([failed]), None) is None  # drawn at the panel's top


def _markers(fig: Figure, marker: str) -> list[tuple[float, float]]:
    out = []
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_marker() == marker and line.get_linestyle() == "None":
                xs, ys = line.get_xdata(), line.get_ydata()
                out.extend(zip(map(float, xs), map(float, ys), strict=True))  # type: ignore[arg-type]
    return out


def test_time_figure_is_log_log_with_a_panel_per_facet_and_the_fits_drawn() -> None:
    runs = two_runs()
    series = build_series(runs, TIME)
    fits = {id(s): fit_series(s) for s in series}
    fig = metric_figure(series, TIME, fits)
    assert len(fig.axes) == 2  # full and causal
    assert [ax.get_title() for ax in fig.axes] == ["fwd · d64 · full", "fwd · d64 · causal"]
    assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in fig.axes)
    sdpa = next(s for s in series if s.variant == "softmax.sdpa" and s.run == runs[0].label)
    fit = fits[id(sdpa)]
    assert fit is not None
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert f"N^{fit.exponent:.2f}" in texts
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert f"softmax.sdpa · {runs[0].label}" in legend
    assert f"softmax.sdpa · {runs[1].label}" in legend
    assert "failed (not measured)" in legend and "skipped (not measured)" in legend


def test_memory_figure_marks_the_oom_case_at_its_estimate() -> None:
    runs = two_runs()[:1]
    fig = metric_figure(build_series(runs, MEMORY), MEMORY)
    marker = STATUS_MARKERS["oom"][0]
    assert (16384.0, 32.0 * 1024**3) in _markers(fig, marker)
    assert not fig.axes[0].texts  # no fits on figures other than time


def test_cases_without_any_position_are_pinned_to_the_top_of_the_panel() -> None:
    runs = two_runs()[:1]
    fig = metric_figure(build_series(runs, TIME), TIME)
    # dipole.v2 failed at its only length: axes-fraction y of 0.97, in the full panel
    failed = _markers(fig, STATUS_MARKERS["failed"][0])
    assert (1024.0, 0.97) in failed


def test_draw_gives_a_png_per_figure() -> None:
    images = draw(build_bundle(two_runs(), created_utc=STAMP))
    assert set(images) == {"time.png", "tflops.png", "memory.png", "energy.png"}
    assert all(data.startswith(b"\x89PNG\r\n\x1a\n") for data in images.values())


def _verdict(n: int, threshold: float | None = 0.05) -> GateVerdict:
    entries = tuple(
        GateEntry(f"v/n{i}", "slower" if i % 2 else "same", 1.0 + i / 100, 0.99 + i / 100,
                  1.01 + i / 100)
        for i in range(n)
    )
    new = GateEntry("w/n", "new", None, None, None)
    return GateVerdict("g.json", "fail", threshold, (*entries, new))


def _verticals(ax: Axes) -> list[float]:
    """x of every vertical rule (two points at one x) on ``ax``, sorted."""
    out = []
    for line in ax.get_lines():
        xs = [float(x) for x in line.get_xdata()]  # type: ignore[union-attr]
        if len(xs) == 2 and xs[0] == xs[1]:
            out.append(xs[0])
    return sorted(out)


def test_forest_draws_a_row_per_rated_case_and_the_threshold() -> None:
    fig = forest_figure(_verdict(4))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "v/n0 (same)"
    assert len(ax.get_yticks()) == 4  # the new case has no ratio: not a row
    verticals = _verticals(fig.axes[0])
    assert verticals == pytest.approx([0.95, 1.0, 1.05])
    assert "4 of 5 cases" in ax.get_title()
    assert png_bytes(fig).startswith(b"\x89PNG")


def test_forest_without_threshold_draws_only_one() -> None:
    ax = forest_figure(_verdict(2, threshold=None)).axes[0]
    assert _verticals(ax) == [1.0]


def test_forest_keeps_the_cases_furthest_from_one_when_there_are_too_many() -> None:
    rows = forest_rows(_verdict(200))
    assert len(rows) == 150
    assert rows[0].case_id == "v/n50" and rows[-1].case_id == "v/n199"  # file order kept


def test_a_single_sample_case_draws_without_error_bars_below_zero() -> None:
    """q1 == median == q3; TFLOP/s from the quartiles may differ from the stored value in the
    last bit, which must neither flip the interval nor break the drawing."""
    from attnbench.report.series import TFLOPS, RunInput
    from attnbench.results.schema import RunResult
    from tests.report.conftest import ok_case

    cases = []
    for n, t in ((512, 22.823553500000003), (1024, 974.828952)):
        c = ok_case("v", {"seq_len": n, "causal": False, "pass": "fwd", "head_dim": 32},
                    median_ms=t, flops=2147483648.0 * n / 2048, peak=1.0, err=0.0,
                    backend="eager", joules=None)
        c.metrics.update({"time/q1_ms": t, "time/q3_ms": t})
        c.metrics["throughput/tflops"] *= 1 + 4e-16  # stored rate a bit above the quartiles'

        cases.append(c)
    series = build_series([RunInput("r", "r.json", RunResult({}, {}, {}, cases))], TFLOPS)
    for p in series[0].points:
        assert p.low is not None and p.high is not None and p.value is not None
        assert p.low <= p.value <= p.high
    assert png_bytes(metric_figure(series, TFLOPS)).startswith(b"\x89PNG")
