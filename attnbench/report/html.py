"""One self-contained HTML page for a report: no network, no script, images inline.

The page carries a Content-Security-Policy that forbids every fetch except inline images
(``data:`` URLs) and its own ``<style>``, so a browser that opens it loads nothing else. Every
text from a result file is escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from attnbench.report.bundle import ReportBundle
from attnbench.report.scaling import ScalingRow
from attnbench.report.series import facet_title

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1400px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.warnings li { color: #a40000; } .note { color: #555; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
code { background: #f4f4f4; padding: 0 3px; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _summary(bundle: ReportBundle) -> str:
    rows = []
    for r in bundle.runs:
        counts = r.run.counts()
        sha = r.run.git.get("sha") or ""
        rows.append([
            r.label, r.path, str(r.run.suite.get("name", "")), r.run.created_utc,
            str(len(r.run.cases)), *(str(counts.get(s, 0)) for s in ("ok", "skipped", "oom",
            "failed")), str(sha)[:10],
        ])
    headers = ["run", "file", "suite", "created", "cases", "ok", "skipped", "oom", "failed", "git"]
    return _table(headers, rows, {4, 5, 6, 7, 8})


def exponent_cells(row: ScalingRow) -> list[str]:
    """Table cells of one scaling row: run, line, facet, exponent, interval, range, claim."""
    fit = row.fit
    interval = "–"
    if fit is not None and fit.ci_low is not None and fit.ci_high is not None:
        interval = f"[{fit.ci_low:.2f}, {fit.ci_high:.2f}]"
    return [
        row.series.run,
        row.series.line,
        facet_title(row.series.facet),
        f"{fit.exponent:.2f}" if fit else "–",
        interval,
        f"{fit.n_min}–{fit.n_max} ({fit.points})" if fit else "< 2 lengths",
        row.claim or "–",
        row.warning or "",
    ]


EXPONENT_HEADERS = ("run", "variant", "panel", "exponent", "95% CI", "N range (points)",
                    "declared", "warning")


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(data, Mapping):
        out = []
        for key, value in data.items():
            out.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, list) and any(isinstance(v, (Mapping, list)) for v in data):
        out = []
        for i, value in enumerate(data):
            out.extend(_flatten(value, f"{prefix}[{i}]"))
        return out
    return [(prefix, "" if data is None else str(data))]


def _environment(bundle: ReportBundle) -> str:
    parts = []
    for r in bundle.runs:
        pairs = _flatten({"environment": r.run.environment, "git": r.run.git,
                          "settings": r.run.settings})
        parts.append(
            f"<details open><summary>{_e(r.label)} — <code>{_e(r.path)}</code></summary>"
            f"{_table(['key', 'value'], pairs, set())}</details>"
        )
    return "".join(parts)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def render_html(bundle: ReportBundle, images: Mapping[str, bytes]) -> str:
    """The page: summary, warnings, exponents, figures (``images``: file name → PNG), the
    gate's forest plot when present (``forest.png``), each run's environment."""
    sections = [f"<h2>Summary</h2>{_summary(bundle)}"]
    if bundle.warnings:
        items = "".join(f"<li><b>{_e(c)}</b> {_e(m)}</li>" for c, m in bundle.warnings)
        sections.append(f'<h2>Warnings</h2><ul class="warnings">{items}</ul>')
    else:
        sections.append('<h2>Warnings</h2><p class="note">none</p>')
    if bundle.notes:
        items = "".join(f"<li>{_e(n)}</li>" for n in bundle.notes)
        sections.append(f'<ul class="note">{items}</ul>')
    sections.append(
        "<h2>Scaling exponents</h2><p>Slope of log median time on log N (least squares), "
        "with its 95% interval (three or more lengths).</p>"
        + _table(EXPONENT_HEADERS, (exponent_cells(r) for r in bundle.scaling), {3})
    )
    sections.append("<h2>Figures</h2>")
    for fig in bundle.figures:
        if fig.file in images:
            caption = f"{fig.metric.title} ({fig.metric.unit})"
            sections.append(f"<figure>{_img(images[fig.file], caption)}"
                            f"<figcaption>{_e(caption)}</figcaption></figure>")
    if bundle.gate is not None and "forest.png" in images:
        threshold = f"{bundle.gate.threshold:.1%}" if bundle.gate.threshold else "not stated"
        sections.append(
            f"<h2>Gate verdict</h2><p>{_e(bundle.gate.path)}: overall "
            f"<b>{_e(bundle.gate.overall or 'not stated')}</b>, threshold {_e(threshold)}, "
            f"{len(bundle.gate.entries)} cases.</p>"
            + _img(images["forest.png"], "forest plot of per-case ratios")
        )
    sections.append(f"<h2>Environment</h2>{_environment(bundle)}")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>attnbench report</title><style>{_STYLE}</style></head><body>"
        f"<h1>attnbench report</h1><p class=\"note\">generated {_e(bundle.created_utc)} "
        f"from {len(bundle.runs)} run(s)</p>" + "".join(sections) + "</body></html>\n"
    )
