"""Render stored runs: rich console tables, GitHub Markdown and flat CSV; ``attnbench report``'s
figures, scaling fits and HTML page live in :mod:`~attnbench.report.bundle` and its neighbours
(imported on demand: they need matplotlib and scipy).

Reports read :class:`~attnbench.results.schema.RunResult` only and never measure anything.
"""

from __future__ import annotations

from attnbench.report.captions import WARNING_TEXT
from attnbench.report.console import ratio_table, render_run, results_table
from attnbench.report.csv import to_csv
from attnbench.report.markdown import to_markdown

__all__ = ["WARNING_TEXT", "ratio_table", "render_run", "results_table", "to_csv", "to_markdown"]
