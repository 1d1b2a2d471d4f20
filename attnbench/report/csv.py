"""Flat CSV export: one row per case, every parameter and metric a column, numbers raw.

Columns: ``case_id``, ``variant``, every ``params`` key (shape keys first, then variant
parameters by name), ``status``, ``reason``, ``backend``, ``stop_reason``, ``warnings``
(codes joined by ``;``), then every metric key present in any case, sorted. Missing values
are empty; numbers are written as Python prints them (no rounding, no units: the unit is in
the metric key); booleans as ``true``/``false``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from attnbench.report.rows import BASE_KEYS, ordered_cases
from attnbench.results.schema import CaseResult, RunResult

__all__ = ["csv_columns", "to_csv"]

_CASE_FIELDS = ("status", "reason", "backend", "stop_reason", "warnings")


def _param_keys(cases: Sequence[CaseResult]) -> list[str]:
    present = {k for c in cases for k in c.params}
    return [k for k in BASE_KEYS if k in present] + sorted(present - set(BASE_KEYS))


def csv_columns(run: RunResult) -> list[str]:
    """The header row :func:`to_csv` writes for ``run``."""
    metrics = sorted({k for c in run.cases for k in c.metrics})
    return ["case_id", "variant", *_param_keys(run.cases), *_CASE_FIELDS, *metrics]


def _raw(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _record(case: CaseResult) -> dict[str, str]:
    record = {"case_id": case.case_id, "variant": case.variant}
    record.update({k: _raw(v) for k, v in case.params.items()})
    record.update(
        status=case.status,
        reason=case.reason,
        backend=case.backend,
        stop_reason=case.stop_reason,
        warnings=";".join(case.warnings),
    )
    record.update({k: _raw(v) for k, v in case.metrics.items()})
    return record


def to_csv(run: RunResult) -> str:
    """Every case of ``run`` as CSV text (header first, cases in report order, ``\\n`` ends)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=csv_columns(run), restval="", lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    for case in ordered_cases(run.cases):
        writer.writerow(_record(case))
    return buffer.getvalue()
