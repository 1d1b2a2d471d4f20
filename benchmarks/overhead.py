"""Harness overhead: attnbench's own wall time per case, and how flat it stays as suites grow.

For each size it runs that many tiny cases (N 16–35, one sample, no warm-up, ``check: off``,
``power: off``) on the CPU, writing a real result file, and prints

* ``wall/case``: the run's wall time over the case count (everything: the loop, the memory
  window, the journal, consolidations, the final save);
* ``harness/case``: the same minus the kernel's own time (samples × calls per sample plus
  warm-up), i.e. what attnbench itself costs;
* the median time between two finished cases in the first and the last tenth of the run —
  equal when the cost per case does not grow with the run (issue #11: at most 50 ms, flat
  from 100 to 5,000 cases).

Then it runs ``suites/smoke.yaml`` on the CPU and prints the kernel-time share of its wall
time.

    .venv/bin/python benchmarks/overhead.py            # 100, 1000 and 5000 cases + smoke
    .venv/bin/python benchmarks/overhead.py --sizes 100,300 --no-smoke   # a quick check
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path

from attnbench.case import Case
from attnbench.results.schema import CaseResult, RunResult
from attnbench.runner import run_suite
from attnbench.suite import load_suite

VARIANTS = ("softmax.naive", "softmax.sdpa", "softmax.sdpa_math", "cog.naive", "dipole.v2")
LENGTHS = list(range(16, 36))
PER_HEADS_VALUE = len(VARIANTS) * len(LENGTHS) * 2  # x causal [false, true]
SMOKE = Path(__file__).resolve().parent.parent / "suites" / "smoke.yaml"


def tiny_suite_text(cases: int) -> str:
    """A suite with at least ``cases`` tiny cases (the run caps it with ``max_cases``)."""
    heads = max(1, -(-cases // PER_HEADS_VALUE))
    return (
        "version: 1\nname: overhead\ndtype: fp32\npass: [fwd]\n"
        f"axes: {{batch: 1, heads: {list(range(1, heads + 1))}, seq_len: {LENGTHS}, "
        "head_dim: 8, causal: [false, true]}\n"
        f"variants: [{', '.join(VARIANTS)}]\n"
        "timing: {warmup_ms: 0, min_samples: 1, min_time_ms: 0, max_time_s: 0.001, "
        "target_rel_iqr: 1.0}\n"
        "power: {enabled: off}\ncheck: off\n"
    )


class Stamps:
    """Progress sink that records when each case finished (perf_counter seconds)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def started(self, total: int, skipped_done: int) -> None:
        self.times.append(time.perf_counter())

    def case_started(self, case: Case) -> None:
        pass

    def case_finished(self, result: CaseResult) -> None:
        self.times.append(time.perf_counter())


def kernel_s(run: RunResult) -> float:
    """Seconds the kernels ran in timed samples and warm-up."""
    total_ms = 0.0
    for c in run.cases:
        calls = c.metrics.get("time/calls_per_sample") or 1.0
        total_ms += sum(c.samples) * calls + (c.metrics.get("time/warmup_ms") or 0.0)
    return total_ms / 1e3


def tenth_median_ms(stamps: list[float], last: bool) -> float:
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    k = max(1, len(gaps) // 10)
    part = gaps[-k:] if last else gaps[:k]
    return statistics.median(part) * 1e3


def measure_size(cases: int, workdir: Path) -> None:
    path = workdir / f"overhead-{cases}.yaml"
    path.write_text(tiny_suite_text(cases))
    suite = load_suite(path)
    stamps = Stamps()
    began = time.perf_counter()
    run = run_suite(suite, "cpu", out=workdir / f"overhead-{cases}.json", max_cases=cases,
                    progress=stamps)
    wall = time.perf_counter() - began
    n = len(run.cases)
    harness = wall - kernel_s(run)
    print(f"{n:>6} {wall / n * 1e3:>12.1f} {harness / n * 1e3:>14.1f} "
          f"{tenth_median_ms(stamps.times, False):>13.1f} "
          f"{tenth_median_ms(stamps.times, True):>12.1f} {wall:>8.1f}", flush=True)


def smoke_share(workdir: Path) -> None:
    suite = load_suite(SMOKE)
    began = time.perf_counter()
    run = run_suite(suite, "cpu", out=workdir / "smoke.json")
    wall = time.perf_counter() - began
    share = kernel_s(run) / wall
    print(f"\nsuites/smoke.yaml on the CPU: {len(run.cases)} cases in {wall:.1f} s; "
          f"kernel time {kernel_s(run):.1f} s = {100 * share:.0f}% of the wall time "
          f"(the rest: checks, calibration, memory and energy windows, the harness)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000",
                        help="comma-separated case counts (default 100,1000,5000)")
    parser.add_argument("--no-smoke", action="store_true",
                        help="skip the suites/smoke.yaml kernel-share run")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print("tiny cases (N 16-35, one sample, check off, power off), CPU; times in ms")
    print(f"{'cases':>6} {'wall/case':>12} {'harness/case':>14} {'first 10%':>13} "
          f"{'last 10%':>12} {'wall s':>8}")
    with tempfile.TemporaryDirectory(prefix="attnbench-overhead-") as tmp:
        for n in sizes:
            measure_size(n, Path(tmp))
        if not args.no_smoke:
            smoke_share(Path(tmp))


if __name__ == "__main__":
    main()
