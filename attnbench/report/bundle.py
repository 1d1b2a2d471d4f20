"""Everything one ``attnbench report`` shows, gathered from stored runs (no drawing here).

:func:`build_bundle` labels the runs, builds the series of every figure, fits the scaling
exponents and collects the warnings; :meth:`ReportBundle.to_dict` is the ``report.json``
written beside the images, so the numbers behind every plot can be read (and tested) without
looking at pixels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attnbench import __version__
from attnbench.errors import InputError
from attnbench.report.forest import GateVerdict
from attnbench.report.outdir import GENERATOR
from attnbench.report.scaling import ScalingRow, scaling_rows
from attnbench.report.series import (
    ENERGY,
    MEMORY,
    RATIO,
    TFLOPS,
    TIME,
    PlotMetric,
    RunInput,
    Series,
    build_series,
    has_values,
)
from attnbench.results.schema import RunResult

REPORT_FORMAT = 1
"""Version of the ``report.json`` layout."""

FIGURES: tuple[PlotMetric, ...] = (TIME, TFLOPS, MEMORY, ENERGY, RATIO)


@dataclass(frozen=True)
class Figure:
    """One figure's data: its metric, its lines, and the PNG file it is written to."""

    metric: PlotMetric
    series: tuple[Series, ...]

    @property
    def file(self) -> str:
        return f"{self.metric.key}.png"


@dataclass(frozen=True)
class ReportBundle:
    """The runs, figures, exponents, warnings and optional gate verdict of one report."""

    runs: tuple[RunInput, ...]
    figures: tuple[Figure, ...]
    scaling: tuple[ScalingRow, ...]
    warnings: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    gate: GateVerdict | None = None
    created_utc: str = field(default="")

    def to_dict(self, files: Sequence[str] = ()) -> dict[str, Any]:
        """The ``report.json`` document (``files``: the names written beside it)."""
        return {
            "generator": GENERATOR,
            "report_format": REPORT_FORMAT,
            "attnbench_version": __version__,
            "created_utc": self.created_utc,
            "files": list(files),
            "runs": [_run_summary(r) for r in self.runs],
            "exponents": [row.to_dict() for row in self.scaling],
            "warnings": [{"code": code, "message": msg} for code, msg in self.warnings],
            "notes": list(self.notes),
            "figures": {
                f.metric.key: {
                    "file": f.file,
                    "title": f.metric.title,
                    "unit": f.metric.unit,
                    "series": [s.to_dict() for s in f.series],
                }
                for f in self.figures
            },
            "gate": self.gate.to_dict() if self.gate else None,
        }


def _run_summary(r: RunInput) -> dict[str, Any]:
    return {
        "label": r.label,
        "path": r.path,
        "suite": r.run.suite.get("name"),
        "created_utc": r.run.created_utc,
        "device": r.run.settings.get("device"),
        "git": r.run.git,
        "counts": r.run.counts(),
    }


def _gpu_name(run: RunResult) -> str | None:
    device = run.settings.get("device")
    kind = device.get("kind") if isinstance(device, dict) else None
    if kind == "cuda" and isinstance(device, dict) and isinstance(device.get("name"), str):
        return str(device["name"])
    gpus = run.environment.get("gpus")
    if kind in (None, "cuda") and isinstance(gpus, list) and gpus and isinstance(gpus[0], dict):
        name = gpus[0].get("name")
        return name if isinstance(name, str) and name else None
    return None


def default_label(run: RunResult, path: str) -> str:
    """The GPU's name for a GPU run, else the git sha (10 characters), else the file name."""
    gpu = _gpu_name(run)
    if gpu:
        return gpu
    sha = run.git.get("sha")
    if isinstance(sha, str) and sha:
        return sha[:10] + ("-dirty" if run.git.get("dirty") else "")
    return Path(path).name


def run_labels(runs: Sequence[tuple[RunResult, str]], given: Sequence[str]) -> list[str]:
    """A distinct label per run: ``given`` (one per run), or the defaults made distinct by
    appending the file name, then the path, where two runs would share one."""
    if given:
        if len(given) != len(runs):
            raise InputError(
                f"--label given {len(given)} time(s) for {len(runs)} run(s); give one per run, "
                "in the order of the files, or none"
            )
        if len(set(given)) != len(given):
            raise InputError(f"--label values must differ, got {', '.join(given)}")
        return list(given)
    base = [default_label(run, path) for run, path in runs]
    labels = base
    for suffix in (lambda p: Path(p).name, str):
        if len(set(labels)) == len(labels):
            break
        labels = [
            f"{label} ({suffix(path)})" if base.count(label) > 1 else label
            for label, (_, path) in zip(base, runs, strict=True)
        ]
    if len(set(labels)) != len(labels):
        raise InputError("two runs share a label and a path; give --label once per run")
    return labels


def claims(runs: Sequence[RunInput]) -> dict[str, str]:
    """Variant → declared time complexity, from the cases' stored models (``models.time``),
    else from the variant registry when the variant is known here."""
    out: dict[str, str] = {}
    for r in runs:
        for case in r.run.cases:
            stored = case.models.get("time") if isinstance(case.models, dict) else None
            if isinstance(stored, str) and stored and case.variant not in out:
                out[case.variant] = stored
    for name in {c.variant for r in runs for c in r.run.cases} - set(out):
        claim = _registry_claim(name)
        if claim:
            out[name] = claim
    return out


def _registry_claim(name: str) -> str | None:
    from attnbench import variants

    try:
        return variants.get(name).info.time_complexity
    except Exception:  # unknown here (a plugin not installed): no claim to check against
        return None


def _notes(figures: Sequence[Figure], runs: Sequence[RunInput]) -> list[str]:
    drawn = {f.metric.key for f in figures}
    notes = []
    if ENERGY.key not in drawn:
        notes.append("energy per token: not measured in any run (no NVML or RAPL), no figure")
    if RATIO.key not in drawn:
        notes.append(
            "ratio to baseline: no case carries ratio/to_baseline with its interval, no figure"
        )
    for r in runs:
        for text in r.run.run.get("warnings", []) or []:
            notes.append(f"{r.label}: {text}")
    return notes


def build_bundle(
    runs: Sequence[RunInput], gate: GateVerdict | None = None, created_utc: str | None = None
) -> ReportBundle:
    """Series, fits and warnings for ``runs`` (already labelled)."""
    figures = []
    for metric in FIGURES:
        series = build_series(runs, metric)
        if has_values(series):
            figures.append(Figure(metric, tuple(series)))
    time_series = next((f.series for f in figures if f.metric.key == TIME.key), ())
    rows = scaling_rows(time_series, claims(runs))
    warnings = tuple((row.warning, row.message()) for row in rows if row.warning)
    stamp = created_utc or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return ReportBundle(
        tuple(runs), tuple(figures), tuple(rows), warnings, tuple(_notes(figures, runs)),
        gate, stamp,
    )
