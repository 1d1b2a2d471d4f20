"""Draw a :class:`ReportBundle` and write it: PNGs, ``index.html`` and ``report.json``.

Also the exponent table that ``attnbench report`` prints (rich, one row per line).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from attnbench.report import outdir
from attnbench.report.bundle import ReportBundle
from attnbench.report.forest import forest_figure
from attnbench.report.html import EXPONENT_HEADERS, exponent_cells, render_html
from attnbench.report.plots import metric_figure, png_bytes
from attnbench.report.scaling import fit_series
from attnbench.report.series import TIME


@dataclass(frozen=True)
class Written:
    """What :func:`write_report` left in the directory."""

    directory: Path
    files: tuple[str, ...]
    removed: tuple[str, ...]


def draw(bundle: ReportBundle) -> dict[str, bytes]:
    """Every figure of ``bundle`` as PNG bytes, by file name."""
    images = {}
    for fig in bundle.figures:
        fits = {id(s): fit_series(s) for s in fig.series} if fig.metric.key == TIME.key else None
        images[fig.file] = png_bytes(metric_figure(fig.series, fig.metric, fits))
    if bundle.gate is not None:
        images["forest.png"] = png_bytes(forest_figure(bundle.gate))
    return images


def write_report(bundle: ReportBundle, directory: Path) -> Written:
    """Check ``directory`` (see :mod:`attnbench.report.outdir`), then write the report.

    ``report.json`` goes first, naming every file, so the directory is recognised as an
    attnbench report even if writing stops half way.
    """
    earlier = outdir.prepare(directory)
    images = draw(bundle)
    page = render_html(bundle, images)
    files = [outdir.REPORT_JSON, outdir.INDEX_HTML, *images]
    document = json.dumps(bundle.to_dict(files), indent=1, allow_nan=False) + "\n"
    outdir.write_bytes(directory / outdir.REPORT_JSON, document.encode("utf-8"))
    for name, data in images.items():
        outdir.write_bytes(directory / name, data)
    outdir.write_bytes(directory / outdir.INDEX_HTML, page.encode("utf-8"))
    removed = outdir.remove_stale(directory, earlier, files)
    return Written(directory, tuple(files), tuple(removed))


def exponent_table(bundle: ReportBundle) -> Table:
    """One row per fitted line; the exponent column is a plain number (``1.98``).

    The run column appears with several runs, the panel column when panels differ.
    """
    rows = [exponent_cells(r) for r in bundle.scaling]
    keep = [i for i in range(len(EXPONENT_HEADERS)) if _shown(i, rows)]
    table = Table(title="scaling exponents: time ∝ N^b", title_justify="left")
    for i in keep:
        table.add_column(
            EXPONENT_HEADERS[i], justify="right" if i in (3, 4) else "left", no_wrap=i != 1
        )
    for cells in rows:
        table.add_row(*(cells[i] for i in keep))
    return table


def _shown(index: int, rows: list[list[str]]) -> bool:
    header = EXPONENT_HEADERS[index]
    if header in ("run", "panel"):
        return len({r[index] for r in rows}) > 1
    if header == "warning":
        return any(r[index] for r in rows)
    return True
