"""Header and footnote text for reports: provenance, status counts, legend, warning meanings.

Everything here is a plain string, shared by the console and Markdown renderers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from attnbench.report.rows import ShapePlan, plan_shapes
from attnbench.results.schema import STATUS_OK, STATUSES, CaseResult, RunResult

WARNING_TEXT: dict[str, str] = {
    "HIGH_NOISE": "relative IQR above 10%; re-run on a quieter machine",
    "NOT_CONVERGED": "sampling stopped before the noise target was met",
    "BACKEND_FALLBACK": "a slower backend ran than the one asked for",
    "NUMERICAL_MISMATCH": "output disagrees with the reference; not timed",
    "THROTTLED": "clocks dropped (power/thermal) during the case",
    "ENERGY_WINDOW_TOO_SHORT": "energy window too short for the counter; energy unreliable",
    "ENERGY_COUNTER_STALLED": "NVML energy counter did not advance; energy not measured",
    "NVML_ERROR": "NVML failed during the case; telemetry missing",
    "HOST_BUSY": "CPU load above the core count: other processes stole time from the samples",
    "WARMUP_UNSTABLE": "per-call times still falling when the warm-up cap ran out",
    "FEW_SAMPLES": "fewer samples than min_samples (max_samples cut them)",
    "FEW_PAIRS": "under 6 paired rounds: ratio to baseline has no 95% interval",
}
"""Stable warning codes and what they mean, in a few words (footnotes, README)."""


def _device(run: RunResult) -> str:
    device = run.settings.get("device") or {}
    env = run.environment
    if device.get("kind") == "cuda":
        index = device.get("index")
        where = f"cuda:{index}" if index is not None else "cuda"
        return f"{device.get('name', 'GPU')} ({where})"
    if device.get("kind") == "cpu":
        return f"cpu: {device.get('name') or (env.get('cpu') or {}).get('model', '?')}"
    gpus = env.get("gpus") or []
    if gpus:
        return str(gpus[0].get("name", "GPU"))
    return f"cpu: {(env.get('cpu') or {}).get('model', 'unknown')}"


def _created(text: str) -> str:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text or "unknown time"
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def title(run: RunResult) -> str:
    """``SUITE on DEVICE``."""
    return f"{run.suite.get('name', '?')} on {_device(run)}"


def provenance(run: RunResult) -> str:
    """``torch X · attnbench Y · git SHA[+dirty] · CREATED``."""
    parts = [f"torch {run.environment.get('torch', '?')}"]
    if run.attnbench_version:
        parts.append(f"attnbench {run.attnbench_version}")
    sha = run.git.get("sha")
    if sha:
        parts.append(f"git {str(sha)[:10]}{'+dirty' if run.git.get('dirty') else ''}")
    parts.append(_created(run.created_utc))
    return " · ".join(parts)


def status_summary(run: RunResult) -> str:
    """``14 cases: 9 ok · 2 skipped · 1 oom · 2 failed`` (zero counts left out, ok kept)."""
    counts = run.counts()
    parts = [f"{counts[s]} {s}" for s in STATUSES if counts.get(s) or s == STATUS_OK]
    extra = [f"{n} {s}" for s, n in counts.items() if s not in STATUSES and n]
    text = f"{len(run.cases)} cases: " + " · ".join(parts + extra)
    if run.run.get("completed") is False:
        text += " · run incomplete"
    return text


def header_lines(run: RunResult, plan: ShapePlan | None = None) -> list[str]:
    """Title, provenance, status counts and the fixed parameters, one line each."""
    plan = plan or plan_shapes(run.cases)
    lines = [title(run), provenance(run), status_summary(run)]
    if plan.fixed:
        lines.append(f"fixed: {plan.fixed}")
    return lines


def warnings_seen(cases: Iterable[CaseResult]) -> dict[str, int]:
    """Warning code → number of cases that raised it, in first-seen order."""
    seen: dict[str, int] = {}
    for case in cases:
        for code in dict.fromkeys(case.warnings):
            seen[code] = seen.get(code, 0) + 1
    return seen


def energy_gaps(cases: Iterable[CaseResult]) -> list[str]:
    """Distinct reasons why ok cases have no energy figure."""
    reasons: dict[str, None] = {}
    for case in cases:
        if case.status == STATUS_OK and case.metric("energy/joules_per_call") is None:
            reason = str((case.energy or {}).get("reason") or "not measured")
            reasons[reason] = None
    return list(reasons)


def legend() -> str:
    """What the less obvious marks in a results table mean."""
    return (
        "median: device time per call · ±IQR: spread of the samples, relative · "
        "~: estimate, not measured · [n]: reason below"
    )


def warning_lines(cases: Iterable[CaseResult]) -> list[str]:
    """``CODE  meaning (n cases)`` for each warning code seen, codes padded to align."""
    seen = warnings_seen(cases)
    width = max((len(code) for code in seen), default=0)
    return [
        f"{code.ljust(width)}  {WARNING_TEXT.get(code, 'see the result JSON')} "
        f"({count} {_plural(count, 'case')})"
        for code, count in seen.items()
    ]


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"
