"""Reading result files for compare and gate: through ``load_results``, then a check of the
fields the statistics use, so a hand-edited or damaged file is an exit-2 message naming the
file and the JSON path, never a traceback in the middle of a gate."""

from __future__ import annotations

import math
from pathlib import Path

from attnbench.errors import ResultFileError
from attnbench.results.schema import RunResult
from attnbench.results.store import load_results


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_fields(run: RunResult, path: str) -> None:
    """Raise :class:`ResultFileError` at the first case field compare/gate cannot use."""
    for i, case in enumerate(run.cases):
        where = f"{path}: cases[{i}]"
        if not isinstance(case.case_id, str) or not case.case_id:
            raise ResultFileError(f"{where}.case_id: expected a non-empty string")
        if not isinstance(case.status, str) or not isinstance(case.variant, str):
            raise ResultFileError(f"{where}: 'status' and 'variant' must be strings")
        if not isinstance(case.params, dict) or not isinstance(case.metrics, dict):
            raise ResultFileError(f"{where}: 'params' and 'metrics' must be objects")
        if not isinstance(case.samples, list):
            raise ResultFileError(f"{where}.samples: expected a list of numbers")
        for j, s in enumerate(case.samples):
            if not _number(s) or not math.isfinite(float(s)) or s < 0:
                raise ResultFileError(f"{where}.samples[{j}]: expected a number >= 0, got {s!r}")
        for key, value in case.metrics.items():
            if value is not None and not _number(value):
                raise ResultFileError(f"{where}.metrics[{key!r}]: expected a number, got {value!r}")
        for name in ("fingerprint", "reason"):
            if not isinstance(getattr(case, name), str):
                raise ResultFileError(f"{where}.{name}: expected a string")
    for name in ("settings", "environment", "git", "run"):
        if not isinstance(getattr(run, name), dict):
            raise ResultFileError(f"{path}: '{name}' must be an object")


def read_run(path: Path) -> RunResult:
    """``load_results(path)`` plus :func:`check_fields`; every problem names ``path``."""
    try:
        run = load_results(path)
    except ResultFileError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise ResultFileError(f"{path}: malformed result file ({exc})") from None
    check_fields(run, str(path))
    return run
