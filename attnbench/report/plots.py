"""Matplotlib figures of the report (Agg canvas, no pyplot state, no display needed).

Every figure is log-log against the sequence length, one panel per pass, head dim and causal
flag, one line per variant (colour) and run (line style and marker). Error bars span the
quartiles. Cases that did not run are marked where they would have been (:func:`ghost_value`).
The time figure also draws each line's fitted power law and names its exponent in the legend.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from attnbench.report.format import format_bytes, format_energy, format_sig, format_time
from attnbench.report.scaling import Fit
from attnbench.report.series import PlotMetric, Point, Series, facet_title, facets
from attnbench.results.schema import STATUS_FAILED, STATUS_OOM, STATUS_SKIPPED

STATUS_MARKERS: dict[str, tuple[str, str]] = {
    STATUS_SKIPPED: ("v", "#7f7f7f"),
    STATUS_OOM: ("s", "#c51b8a"),
    STATUS_FAILED: ("X", "#d62728"),
}
"""Marker and colour of a case that did not run, by status."""

LineStyle = Literal["-", "--", ":", "-."]
_RUN_STYLES: tuple[tuple[LineStyle, str], ...] = (("-", "o"), ("--", "^"), (":", "D"), ("-.", "P"))
_COLOURS: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939",
)
PANEL_IN = (4.6, 3.4)
"""Width and height of one panel, inches."""
DPI = 100


def ghost_value(point: Point, series: Series, fit: Fit | None) -> float | None:
    """Where a case that did not run is drawn: its estimate, else the line's fit at its length,
    else the value of the line's nearest measured length; None puts it at the panel's top."""
    if point.estimate is not None:
        return point.estimate
    if fit is not None and point.seq_len > 0:
        return fit.predict(point.seq_len)
    ok = series.ok_points()
    if not ok or point.seq_len <= 0:
        return None
    nearest = min(ok, key=lambda p: abs(math.log(p.seq_len / point.seq_len)))
    return nearest.value


def _formatter(unit: str) -> Callable[[float, float], str]:
    def fmt(value: float, _pos: float) -> str:
        if value <= 0:
            return ""
        if unit == "ms":
            return format_time(value, 2)
        if unit == "bytes":
            return format_bytes(value, 2)
        if unit == "J":
            return format_energy(value, 2)
        return format_sig(value, 2)

    return fmt


@dataclass(frozen=True)
class _Style:
    colour: str
    linestyle: LineStyle
    marker: str


def _styles(series: Sequence[Series]) -> dict[tuple[str, str], _Style]:
    lines = list(dict.fromkeys(s.line for s in series))
    runs = list(dict.fromkeys(s.run for s in series))
    out = {}
    for s in series:
        colour = _COLOURS[lines.index(s.line) % len(_COLOURS)]
        linestyle, marker = _RUN_STYLES[runs.index(s.run) % len(_RUN_STYLES)]
        out[(s.run, s.line)] = _Style(colour, linestyle, marker)
    return out


def _draw_line(ax: Axes, s: Series, style: _Style, fit: Fit | None, show_fit: bool) -> None:
    ok = s.ok_points()
    xs = [p.seq_len for p in ok]
    ys = [p.value for p in ok if p.value is not None]
    lows = [p.low if p.low is not None else y for p, y in zip(ok, ys, strict=True)]
    highs = [p.high if p.high is not None else y for p, y in zip(ok, ys, strict=True)]
    lower = [max(y - lo, 0.0) for y, lo in zip(ys, lows, strict=True)]
    upper = [max(hi - y, 0.0) for y, hi in zip(ys, highs, strict=True)]
    if xs:
        ax.errorbar(
            xs, ys, yerr=[lower, upper], color=style.colour, linestyle=style.linestyle,
            marker=style.marker, markersize=4, capsize=2, linewidth=1.3,
        )
    if show_fit and fit is not None:
        grid = [fit.n_min * (fit.n_max / fit.n_min) ** (i / 20) for i in range(21)]
        ax.plot(grid, [fit.predict(n) for n in grid], color=style.colour, linestyle=(0, (1, 2)),
                linewidth=0.9, alpha=0.8)
        ax.annotate(
            f"N^{fit.exponent:.2f}", xy=(fit.n_max, fit.predict(fit.n_max)), xytext=(4, 0),
            textcoords="offset points", color=style.colour, fontsize=7, va="center",
        )
    for p in s.points:
        if p.status not in STATUS_MARKERS:
            continue
        marker, colour = STATUS_MARKERS[p.status]
        y = ghost_value(p, s, fit)
        if y is None:
            ax.plot([p.seq_len], [0.97], marker=marker, color=colour, markersize=7,
                    linestyle="none", transform=ax.get_xaxis_transform(), clip_on=False)
        else:
            ax.plot([p.seq_len], [y], marker=marker, color=colour, markersize=7,
                    markeredgecolor=style.colour, linestyle="none")


def _legend_handles(
    series: Sequence[Series], styles: dict[tuple[str, str], _Style]
) -> list[Line2D]:
    many_runs = len({s.run for s in series}) > 1
    handles: dict[str, Line2D] = {}
    for s in series:
        st = styles[(s.run, s.line)]
        label = f"{s.line} · {s.run}" if many_runs else s.line
        handles.setdefault(
            f"{s.run}\0{s.line}",
            Line2D([], [], color=st.colour, linestyle=st.linestyle, marker=st.marker, label=label),
        )
    statuses = {p.status for s in series for p in s.points}
    for status, (marker, colour) in STATUS_MARKERS.items():
        if status in statuses:
            handles[status] = Line2D([], [], marker=marker, color=colour, linestyle="none",
                                     markersize=7, label=f"{status} (not measured)")
    return list(handles.values())


def metric_figure(
    series: Sequence[Series], metric: PlotMetric, fits: dict[int, Fit | None] | None = None
) -> Figure:
    """One figure for ``metric``: a log-log panel per facet, lines per variant and run.

    ``fits`` maps ``id(series)`` to its power-law fit; given, each fit is drawn dotted over
    its fitted range and labelled with its exponent (``N^1.98``) at the longest length.
    """
    panels = facets(series)
    ncols = min(3, len(panels)) or 1
    nrows = max(1, math.ceil(len(panels) / ncols))
    fig = Figure(figsize=(PANEL_IN[0] * ncols + 2.8, PANEL_IN[1] * nrows + 0.6), dpi=DPI)
    FigureCanvasAgg(fig)
    styles = _styles(series)
    show_fit = fits is not None
    fit_map = fits or {}
    for i, facet in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        members = [s for s in series if s.facet == facet]
        for s in members:
            _draw_line(ax, s, styles[(s.run, s.line)], fit_map.get(id(s)), show_fit)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(facet_title(facet), fontsize=10)
        ax.set_xlabel("sequence length N")
        unit_in_ticks = metric.unit in ("ms", "bytes", "J")
        ylabel = metric.title if unit_in_ticks else f"{metric.title} ({metric.unit})"
        ax.set_ylabel(ylabel, fontsize=9)
        ax.yaxis.set_major_formatter(FuncFormatter(_formatter(metric.unit)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
        ax.grid(True, which="major", alpha=0.3)
        if metric.key == "ratio":
            ax.axhline(1.0, color="black", linewidth=0.8)
    handles = _legend_handles(series, styles)
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    fig.suptitle(f"{metric.title} vs sequence length (log-log)", fontsize=11)
    fig.subplots_adjust(right=1 - 2.8 / fig.get_figwidth(), top=1 - 0.75 / fig.get_figheight(),
                        wspace=0.35, hspace=0.45)
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (no timestamp metadata, so equal figures give equal bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
