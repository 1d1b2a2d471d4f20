"""Result file v1 (design §3.3) as dataclasses, with lossless to/from dict.

Format history (bump SCHEMA_VERSION and add a migration in ``migrate.py`` for any change
that changes the meaning or the shape of a field; add a CHANGELOG "Result format" entry):

* 1.0.0 — first release: root provenance, per-case status/metrics/samples/warnings,
  metric catalog.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

SCHEMA_VERSION = "1.0.0"

STATUS_OK = "ok"
STATUS_SKIPPED = "skipped"
STATUS_OOM = "oom"
STATUS_FAILED = "failed"
STATUSES = (STATUS_OK, STATUS_SKIPPED, STATUS_OOM, STATUS_FAILED)
FINISHED = (STATUS_OK, STATUS_SKIPPED, STATUS_OOM)
"""Statuses a resumed run keeps; ``failed`` cases are run again."""


@dataclass
class CaseResult:
    """One case's outcome.

    Attributes:
        case_id: ``variant/shape_id``, stable across runs.
        variant: ``family.impl``.
        params: shape, dtype, pass and the variant parameters actually used (defaults filled).
        status: ``ok`` | ``skipped`` | ``oom`` | ``failed``.
        reason: why a case was skipped or failed (torch's own words where it gave them).
        fingerprint: hash of the variant's implementation source and the case.
        backend: which kernel actually ran (``sdpa.flash``, ``eager``, ``flex.compiled``...).
        metrics: catalog key → value (units in the key).
        samples: raw per-call device times, milliseconds, in the order taken.
        stop_reason: why sampling stopped (``converged``, ``noise_plateau``, ``max_time``...).
        warnings: stable codes (``HIGH_NOISE``, ``THROTTLED``, ``BACKEND_FALLBACK``...).
        models: the FLOP and memory models the counts came from.
        check: the correctness check (reduced copy id, errors, tolerance, verdict).
        energy: energy method, reason and details.
        duration_s: wall time spent on the case, seconds (check + warm-up + sampling).
        profile: ``run --profile`` only: trace and operator-table paths (relative to the
            result file's directory) and the top operators; None when not profiled.
    """

    case_id: str
    variant: str
    params: dict[str, Any]
    status: str
    reason: str = ""
    fingerprint: str = ""
    backend: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    samples: list[float] = field(default_factory=list)
    stop_reason: str = ""
    warnings: list[str] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)
    check: dict[str, Any] | None = None
    energy: dict[str, Any] | None = None
    duration_s: float = 0.0
    profile: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def metric(self, key: str) -> float | None:
        value = self.metrics.get(key)
        return None if value is None else float(value)


@dataclass
class RunResult:
    """A whole run: provenance, settings, the metric catalog and every case."""

    suite: dict[str, Any]
    environment: dict[str, Any]
    settings: dict[str, Any]
    cases: list[CaseResult] = field(default_factory=list)
    git: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    metric_catalog: dict[str, dict[str, Any]] = field(default_factory=dict)
    schema_version: str = SCHEMA_VERSION
    attnbench_version: str = ""
    created_utc: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "attnbench_version": self.attnbench_version,
            "created_utc": self.created_utc,
            "suite": self.suite,
            "environment": self.environment,
            "git": self.git,
            "settings": self.settings,
            "run": self.run,
            "metric_catalog": self.metric_catalog,
            "cases": [c.to_dict() for c in self.cases],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        return cls(
            schema_version=data["schema_version"],
            attnbench_version=data.get("attnbench_version", ""),
            created_utc=data.get("created_utc", ""),
            suite=data.get("suite", {}),
            environment=data.get("environment", {}),
            git=data.get("git", {}),
            settings=data.get("settings", {}),
            run=data.get("run", {}),
            metric_catalog=data.get("metric_catalog", {}),
            cases=[CaseResult.from_dict(c) for c in data.get("cases", [])],
        )

    def case(self, case_id: str) -> CaseResult | None:
        return next((c for c in self.cases if c.case_id == case_id), None)

    def upsert(self, result: CaseResult) -> None:
        """Add ``result``, replacing an earlier result with the same case id."""
        for i, c in enumerate(self.cases):
            if c.case_id == result.case_id:
                self.cases[i] = result
                return
        self.cases.append(result)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for c in self.cases:
            out[c.status] = out.get(c.status, 0) + 1
        return out
