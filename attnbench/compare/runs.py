"""``compare``: two or more runs side by side, each case's ratio to the first run.

Cases are matched by case id. A case's ratio to the first run is the ratio of median times
with its 95% bootstrap interval from the raw samples (see :mod:`attnbench.compare.stats`).
Per variant, the geometric mean of those ratios, with its interval, is taken over the cases
that ran ok in *every* run, and the count is stated; cases present (or ok) in only some runs
are listed separately, never folded into a mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attnbench.compare.match import case_ids, case_mismatch, index, machine, run_labels
from attnbench.compare.stats import RESAMPLES, SEED, RatioEstimate, geomean, ratio_of_medians
from attnbench.results.schema import STATUS_OK, CaseResult, RunResult

METHOD = (
    f"ratio = median time / first run's median time; 95% interval: percentile bootstrap of the "
    f"ratio of medians ({RESAMPLES} resamples of each run's raw samples, seed {SEED}); "
    "geometric means over the cases ok in every run, interval from the same resamples"
)
CELL_METRICS = {
    "median_ms": "time/median_ms",
    "tflops": "throughput/tflops",
    "pct_peak": "throughput/pct_peak",
    "peak_bytes": "memory/peak_bytes",
    "joules": "energy/joules_per_call",
}


@dataclass(frozen=True)
class RunInfo:
    """One compared run: its column label, file and what it ran on."""

    label: str
    path: str
    device: str
    commit: str | None


@dataclass(frozen=True)
class Cell:
    """One case in one run: status, headline metrics, ratio to the first run."""

    case: CaseResult
    ratio: RatioEstimate | None = None
    code_changed: bool = False

    def value(self, key: str) -> float | None:
        return self.case.metric(CELL_METRICS[key]) if self.case.status == STATUS_OK else None


@dataclass(frozen=True)
class Row:
    """One case id across runs (``None`` where a run lacks it)."""

    case_id: str
    variant: str
    cells: list[Cell | None]

    @property
    def shared(self) -> bool:
        """Ran ok in every run."""
        return all(c is not None and c.case.status == STATUS_OK for c in self.cells)


@dataclass(frozen=True)
class Mean:
    """Geometric mean of ``variant``'s ratios, run ``run`` over the first, on ``count`` cases."""

    variant: str
    run: int
    estimate: RatioEstimate
    count: int


@dataclass(frozen=True)
class Comparison:
    runs: list[RunInfo]
    rows: list[Row]
    means: list[Mean]

    def partial(self) -> list[Row]:
        """Rows not ok in every run (listed, never in a mean)."""
        return [r for r in self.rows if not r.shared]

    def to_dict(self) -> dict[str, Any]:
        def est(e: RatioEstimate | None) -> dict[str, float] | None:
            return (
                None if e is None else {"ratio": e.ratio, "ci_low": e.ci_low, "ci_high": e.ci_high}
            )

        def cell(c: Cell | None) -> dict[str, Any] | None:
            if c is None:
                return None
            out: dict[str, Any] = {"status": c.case.status}
            out.update({k: c.value(k) for k in CELL_METRICS})
            out["ratio"] = est(c.ratio)
            out["code_changed"] = c.code_changed
            return out

        return {
            "format": "attnbench.compare/1",
            "method": METHOD,
            "runs": [vars(r) for r in self.runs],
            "cases": [
                {
                    "case_id": r.case_id,
                    "variant": r.variant,
                    "shared": r.shared,
                    "runs": [cell(c) for c in r.cells],
                }
                for r in self.rows
            ],
            "geomean": [
                {
                    "variant": m.variant,
                    "run": self.runs[m.run].label,
                    **(est(m.estimate) or {}),
                    "count": m.count,
                }
                for m in self.means
            ],
            "partial": [r.case_id for r in self.partial()],
        }


def _ratio(first: CaseResult, other: CaseResult) -> RatioEstimate | None:
    if first.status != STATUS_OK or other.status != STATUS_OK:
        return None
    if first.samples and other.samples and min(first.samples) > 0 and min(other.samples) > 0:
        return ratio_of_medians(first.samples, other.samples)
    a, b = first.metric("time/median_ms"), other.metric("time/median_ms")
    if a and b and a > 0:
        return RatioEstimate(b / a, b / a, b / a)
    return None


def _row(case_id: str, indexes: list[dict[str, CaseResult]]) -> Row:
    found = [ix.get(case_id) for ix in indexes]
    variant = next(c.variant for c in found if c is not None)
    first = found[0]
    cells: list[Cell | None] = []
    for k, case in enumerate(found):
        if case is None:
            cells.append(None)
        elif k == 0 or first is None:
            cells.append(Cell(case))
        else:
            changed = case_mismatch(first, case) is not None
            cells.append(Cell(case, _ratio(first, case), changed))
    return Row(case_id, variant, cells)


def _means(rows: list[Row], runs: int) -> list[Mean]:
    out: list[Mean] = []
    variants = list(dict.fromkeys(r.variant for r in rows))
    for variant in variants:
        shared = [r for r in rows if r.variant == variant and r.shared]
        for k in range(1, runs):
            ests = [c.ratio for r in shared if (c := r.cells[k]) is not None and c.ratio]
            with_reps = [e for e in ests if e.log_replicates.size]
            if with_reps and len(with_reps) == len(ests):
                out.append(Mean(variant, k, geomean(with_reps), len(with_reps)))
    return out


def compare_runs(
    runs: Sequence[RunResult], paths: Sequence[Path], labels: Sequence[str] = ()
) -> Comparison:
    """Every case id of ``runs`` side by side, ratios to the first run, means per variant."""
    names = run_labels(runs, paths, labels)
    infos = []
    for run, path, name in zip(runs, paths, names, strict=True):
        m = machine(run)
        sha = run.git.get("sha")
        infos.append(RunInfo(name, str(path), m.model or m.kind, str(sha) if sha else None))
    indexes = [index(run) for run in runs]
    rows = [_row(case_id, indexes) for case_id in case_ids(runs)]
    return Comparison(infos, rows, _means(rows, len(runs)))
