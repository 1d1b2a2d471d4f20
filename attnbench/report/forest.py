"""Gate verdicts (``attnbench gate --format json``) read defensively, and their forest plot.

The verdict file is read by shape, not by a fixed schema, so small format changes on the gate
side do not break the report: the per-case list is ``cases`` (or ``verdicts``/``results``);
each entry names its case (``case_id``/``id``/``case``) and ``verdict``, and may carry a
``ratio`` with an interval as ``ci_low``/``ci_high``, a ``ci``/``interval`` pair or an object
with ``low``/``high``. The threshold is ``threshold`` (a fraction such as 0.05, or ``"5%"``),
at the top level or under ``policy``. Anything else that is malformed is an
:class:`~attnbench.errors.InputError` naming the file and the JSON path (exit 2).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from attnbench.errors import InputError

VERDICT_COLOURS: dict[str, str] = {
    "slower": "#d62728",
    "failed": "#000000",
    "faster": "#2ca02c",
    "same": "#7f7f7f",
    "ambiguous": "#ff7f0e",
}
OTHER_COLOUR = "#9467bd"
MAX_ROWS = 150
"""The forest plot shows at most this many cases: those furthest from a ratio of 1."""

_LIST_KEYS = ("cases", "verdicts", "results")
_ID_KEYS = ("case_id", "id", "case")


@dataclass(frozen=True)
class GateEntry:
    """One case's gate verdict: the ratio (current / baseline) and its 95% interval."""

    case_id: str
    verdict: str
    ratio: float | None
    ci_low: float | None
    ci_high: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "verdict": self.verdict,
            "ratio": self.ratio,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }


@dataclass(frozen=True)
class GateVerdict:
    """A whole verdict file: ``threshold`` as a fraction (0.05 for 5%), None when absent."""

    path: str
    overall: str
    threshold: float | None
    entries: tuple[GateEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "overall": self.overall,
            "threshold": self.threshold,
            "entries": [e.to_dict() for e in self.entries],
        }


def _bad(path: str, where: str, what: str) -> InputError:
    return InputError(f"{path}: {where}: {what} (expected `attnbench gate --format json` output)")


def _number(value: Any, path: str, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(path, where, f"expected a number or null, got {json.dumps(value)[:40]}")
    number = float(value)
    return number if math.isfinite(number) else None


def _threshold(data: Mapping[str, Any], path: str) -> float | None:
    policy = data.get("policy")
    raw = data.get("threshold")
    where = "threshold"
    if raw is None and isinstance(policy, Mapping):
        raw, where = policy.get("threshold"), "policy.threshold"
    if raw is None:
        return None
    if isinstance(raw, str) and raw.strip().endswith("%"):
        try:
            return float(raw.strip()[:-1]) / 100
        except ValueError:
            raise _bad(path, where, f"not a percentage: {raw!r}") from None
    value = _number(raw, path, where)
    if value is not None and not 0 <= value < 1:
        raise _bad(path, where, f"expected a fraction in [0, 1) such as 0.05, got {value}")
    return value


def _interval(entry: Mapping[str, Any], path: str, where: str) -> tuple[float | None, ...]:
    if "ci_low" in entry or "ci_high" in entry:
        return (
            _number(entry.get("ci_low"), path, f"{where}.ci_low"),
            _number(entry.get("ci_high"), path, f"{where}.ci_high"),
        )
    for key in ("ci", "interval"):
        pair = entry.get(key)
        if pair is None:
            continue
        if isinstance(pair, Mapping):
            return (
                _number(pair.get("low"), path, f"{where}.{key}.low"),
                _number(pair.get("high"), path, f"{where}.{key}.high"),
            )
        if isinstance(pair, list) and len(pair) == 2:
            return (
                _number(pair[0], path, f"{where}.{key}[0]"),
                _number(pair[1], path, f"{where}.{key}[1]"),
            )
        raise _bad(path, f"{where}.{key}", "expected [low, high] or {low, high}")
    return (None, None)


def _entry(raw: Any, path: str, where: str) -> GateEntry:
    if not isinstance(raw, Mapping):
        raise _bad(path, where, "expected an object per case")
    case_id = next((raw[k] for k in _ID_KEYS if isinstance(raw.get(k), str)), None)
    if case_id is None:
        raise _bad(path, where, "no case id (case_id)")
    verdict = raw.get("verdict", raw.get("status"))
    if not isinstance(verdict, str):
        raise _bad(path, f"{where}.verdict", "expected a verdict string such as 'slower'")
    ratio = _number(raw.get("ratio"), path, f"{where}.ratio")
    low, high = _interval(raw, path, where)
    return GateEntry(case_id, verdict, ratio, low, high)


def parse_verdict(data: Any, path: str) -> GateVerdict:
    """Read a decoded verdict file; InputError (exit 2) naming ``path`` and the JSON path."""
    if not isinstance(data, Mapping):
        raise _bad(path, "top level", "expected an object")
    key = next((k for k in _LIST_KEYS if k in data), None)
    if key is None or not isinstance(data[key], list):
        raise _bad(path, key or "cases", "expected a list of per-case verdicts")
    entries = tuple(_entry(e, path, f"{key}[{i}]") for i, e in enumerate(data[key]))
    overall = data.get("overall", data.get("verdict", ""))
    if isinstance(overall, Mapping):
        overall = overall.get("verdict", "")
    return GateVerdict(path, str(overall or ""), _threshold(data, path), entries)


def load_verdict(path: str | Path) -> GateVerdict:
    """Read and parse a verdict file (missing, unreadable or invalid JSON: InputError)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"--gate: verdict file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--gate: cannot read verdict file {p}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{p}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    return parse_verdict(data, str(p))


def forest_rows(verdict: GateVerdict) -> list[GateEntry]:
    """The plotted cases: those with a ratio, furthest from 1 first up to :data:`MAX_ROWS`,
    then in file order."""
    rated = [e for e in verdict.entries if e.ratio is not None and e.ratio > 0]
    if len(rated) > MAX_ROWS:
        keep = sorted(rated, key=lambda e: -abs(math.log(e.ratio or 1.0)))[:MAX_ROWS]
        ids = {id(e) for e in keep}
        rated = [e for e in rated if id(e) in ids]
    return rated


def forest_figure(verdict: GateVerdict) -> Figure:
    """Per-case ratio and 95% interval, one row per case, with 1 and ±threshold drawn."""
    rows = forest_rows(verdict)
    fig = Figure(figsize=(9.0, 1.6 + 0.24 * max(len(rows), 1)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for y, e in enumerate(reversed(rows)):
        colour = VERDICT_COLOURS.get(e.verdict, OTHER_COLOUR)
        ratio = e.ratio or 1.0
        if e.ci_low is not None and e.ci_high is not None and e.ci_low <= ratio <= e.ci_high:
            ax.errorbar([ratio], [y], xerr=[[ratio - e.ci_low], [e.ci_high - ratio]],
                        color=colour, marker="o", markersize=4, capsize=2)
        else:
            ax.plot([ratio], [y], marker="o", color=colour, markersize=4)
    ax.set_yticks(range(len(rows)), [f"{e.case_id} ({e.verdict})" for e in reversed(rows)],
                  fontsize=7)
    ax.axvline(1.0, color="black", linewidth=0.8)
    if verdict.threshold:
        for x in (1 - verdict.threshold, 1 + verdict.threshold):
            ax.axvline(x, color="#d62728", linestyle="--", linewidth=0.9)
        ax.text(1 + verdict.threshold, 1.0, f" +{verdict.threshold:.0%}", color="#d62728",
                transform=ax.get_xaxis_transform(), va="bottom", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("ratio current / baseline (95% interval)")
    shown = f"{len(rows)} of {len(verdict.entries)} cases"
    ax.set_title(f"gate verdict {verdict.overall or '(none stated)'} · {shown}", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    fig.subplots_adjust(left=0.45, right=0.97, top=1 - 0.5 / fig.get_figheight(),
                        bottom=0.6 / fig.get_figheight())
    return fig
