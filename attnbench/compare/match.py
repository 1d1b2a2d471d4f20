"""Matching runs: case ids across files, what makes two runs or two cases comparable, labels.

Two runs are comparable as a speed change only on the same device model, driver and torch
version, and two cases only when their fingerprints (variant source + case) and dtypes match.
A different device model stops ``gate`` altogether (exit 3) unless it is the point of the
comparison (``--allow-different-device``); the other differences make cases
``incomparable``, never a regression.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attnbench.results.schema import CaseResult, RunResult

_DRIVER_KEYS = ("driver_version", "driver")


@dataclass(frozen=True)
class Machine:
    """What a run's numbers depend on besides the code: device model, driver, torch."""

    kind: str
    model: str
    driver: str | None
    torch: str | None


def _find(tree: Any, keys: Sequence[str], depth: int = 0) -> str | None:
    """The first string value under any of ``keys`` in a nested dict: the keys of each level
    first, then each value in turn, depth first (at most 5 levels down)."""
    if not isinstance(tree, Mapping) or depth > 5:
        return None
    for key in keys:
        value = tree.get(key)
        if isinstance(value, str) and value:
            return value
    for value in tree.values():
        found = _find(value, keys, depth + 1)
        if found:
            return found
    return None


def machine(run: RunResult) -> Machine:
    """The comparability facts of ``run`` (missing facts are None or empty, never guessed)."""
    device = run.settings.get("device") or {}
    kind = str(device.get("kind") or "")
    model = str(device.get("name") or "")
    if not model:
        gpus = run.environment.get("gpus") or []
        if kind == "cuda" and gpus:
            model = str(gpus[0].get("name", ""))
        else:
            model = str((run.environment.get("cpu") or {}).get("model", ""))
    where = {"environment": run.environment, "settings": run.settings}
    driver = _find(where, _DRIVER_KEYS) if kind == "cuda" else None
    torch = run.environment.get("torch")
    return Machine(kind, model, driver, str(torch) if torch else None)


def device_mismatch(base: Machine, current: Machine) -> str | None:
    """Why two runs ran on different device models, or None when they did not."""
    if base.kind != current.kind:
        return f"device kind differs: {base.kind or '?'} vs {current.kind or '?'}"
    if base.model != current.model:
        return f"device model differs: {base.model or '?'} vs {current.model or '?'}"
    return None


def environment_mismatches(base: Machine, current: Machine) -> list[str]:
    """Differences that make every case incomparable: driver and torch version."""
    out = []
    if base.driver != current.driver:
        out.append(f"driver differs: {base.driver} vs {current.driver}")
    if base.torch != current.torch:
        out.append(f"torch differs: {base.torch} vs {current.torch}")
    return out


def case_mismatch(base: CaseResult, current: CaseResult) -> str | None:
    """Why two results of one case id cannot be compared (code or dtype), or None."""
    if base.fingerprint != current.fingerprint:
        return (
            f"fingerprint differs ({base.fingerprint or '?'} vs "
            f"{current.fingerprint or '?'}): the variant's code or the case changed"
        )
    if base.params.get("dtype") != current.params.get("dtype"):
        return f"dtype differs: {base.params.get('dtype')} vs {current.params.get('dtype')}"
    return None


def case_ids(runs: Iterable[RunResult]) -> list[str]:
    """Every case id of ``runs``: the first run's order, then ids first seen later."""
    return list(dict.fromkeys(c.case_id for run in runs for c in run.cases))


def index(run: RunResult) -> dict[str, CaseResult]:
    """Case id → result (the last one wins if a file repeats an id)."""
    return {c.case_id: c for c in run.cases}


def _candidates(run: RunResult, path: Path) -> list[str | None]:
    """[GPU name, short git sha, file name]; None where the run does not have it."""
    device = run.settings.get("device") or {}
    gpu = str(device["name"]) if device.get("kind") == "cuda" and device.get("name") else None
    sha = run.git.get("sha")
    commit = str(sha)[:10] + ("+dirty" if run.git.get("dirty") else "") if sha else None
    return [gpu, commit, path.name]


def run_labels(
    runs: Sequence[RunResult], paths: Sequence[Path], overrides: Sequence[str] = ()
) -> list[str]:
    """A column label per run: GPU name, else git commit, else file name.

    The first kind of label that tells every run apart is used for all of them; file names
    (made unique by their position) are the last resort. ``overrides`` (``--label``) replace
    the labels of the first runs, in order.
    """
    candidates = [_candidates(run, path) for run, path in zip(runs, paths, strict=True)]
    labels = [str(p) for p in paths]
    for level in range(3):
        names = [c[level] for c in candidates]
        if all(names) and len(set(names)) == len(names):
            labels = [str(n) for n in names]
            break
    if len(set(labels)) != len(labels):
        labels = [f"{i + 1}:{p.name}" for i, p in enumerate(paths)]
    for i, text in enumerate(overrides[: len(labels)]):
        labels[i] = text
    return labels
