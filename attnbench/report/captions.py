"""Header and footnote text for reports: provenance, status counts, legend, warning meanings.

Everything here is a plain string, shared by the console and Markdown renderers.
"""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Iterable, Sequence
from typing import Any

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
    "CPU_CONTENDED": "other processes took CPU time from the samples (involuntary context "
    "switches while sampling); rerun with --threads 1 on a quieter or pinned CPU",
    "HOST_BUSY": "(older runs) load average above the core count while sampling",
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
    selection = _selection(run)
    if selection:
        text += f" · partial: {len(run.cases)} of {selection['planned']} planned"
    return text


def _selection(run: RunResult) -> dict[str, Any] | None:
    """``run.selection`` when it marks the run partial, else None."""
    selection = run.run.get("selection")
    if isinstance(selection, dict) and selection.get("partial") and "planned" in selection:
        return selection
    return None


_SELECTING = {"--max-cases", "-k", "--keyword", "--variant", "-v"}
"""``run`` options that choose a slice of the suite; dropped to run the rest."""


def rest_command(args: Sequence[str], out: str) -> str:
    """The ``attnbench run`` command that finishes a partial run into ``out``.

    ``args`` are the original arguments after the program name (``run SUITE ...``). Options
    that chose a slice (``--max-cases``, ``-k``, ``--variant``) and ``--out`` are dropped,
    then ``--out OUT --resume`` is added: the finished cases are kept and the rest are run.
    """
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in _SELECTING | {"--out", "-o"}:
            skip = "=" not in arg
            continue
        if arg.startswith("-k") and len(arg) > 2 and not arg.startswith("--"):
            continue  # -kPATTERN
        kept.append(arg)
    kept = [a for a in kept if a != "--resume"] + ["--out", out, "--resume"]
    return "attnbench " + " ".join(shlex.quote(a) for a in kept)


def partial_lines(run: RunResult, out: str | None) -> list[str]:
    """What a partial run left out and how to run the rest (nothing for a whole run)."""
    selection = _selection(run)
    if selection is None:
        return []
    why = []
    if selection.get("max_cases"):
        why.append(f"--max-cases {selection['max_cases']}")
    why += [f"-k {shlex.quote(str(p))}" for p in selection.get("keyword") or []]
    why += [f"--variant {v}" for v in selection.get("variants") or []]
    lines = [
        f"partial run: {len(run.cases)} of {selection['planned']} planned cases"
        + (f" ({', '.join(why)})" if why else "")
    ]
    argv = run.run.get("argv")
    if out and isinstance(argv, list) and len(argv) > 1 and "run" in argv:
        args = [str(a) for a in argv[argv.index("run") :]]
        lines.append(f"run the rest with: {rest_command(args, out)}")
    return lines


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
