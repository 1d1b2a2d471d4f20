"""How good is ``attnbench gate``? False alarms on A/A runs, detections of planted slowdowns.

Runs a small CPU suite ``--rounds`` times in this process (real kernels, real timing, each run
with its canary), then gates every pair of runs (i < j) against each other:

* **A/A**: the same code twice. Every ``slower`` or ``failed`` verdict is a false regression;
  the false-positive rate is their share of all compared cases (goal: <= 1%).
* **Planted**: for each pair and each factor (5%, 10%, 25%), a copy of the later run with the
  raw samples of half of its cases (chosen at random, fixed seed) multiplied by the factor.
  A planted case called ``slower`` is a detection (goal for 10%: >= 95%); an unplanted one
  called ``slower`` counts as a false positive too.

Run it on a quiet machine; on a shared, overloaded host the between-run swings are larger
than anything a two-run gate can separate from a regression, and the figures say so.

    .venv/bin/python benchmarks/gate_quality.py --rounds 8            # full figures (~28 gates)
    .venv/bin/python benchmarks/gate_quality.py --rounds 2 --quick    # smoke test of the script
"""

from __future__ import annotations

import argparse
import copy
import itertools
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

import attnbench
from attnbench.compare.gate import gate_runs
from attnbench.compare.policy import CaseSettings
from attnbench.results.schema import RunResult

SUITE = """\
version: 1
name: gate_quality
dtype: fp32
pass: [fwd]
axes: {{batch: 1, heads: 4, seq_len: [64, 128, 256], head_dim: 32, causal: [false, true]}}
variants: [softmax.naive, softmax.sdpa_math]
timing: {{warmup_ms: 10, min_samples: {min_samples}, min_time_ms: 30, max_time_s: {max_time_s},
          target_rel_iqr: 0.01}}
power: {{enabled: off}}
check: off
"""
FACTORS = (1.05, 1.10, 1.25)


@dataclass
class Tally:
    """Counts over all gates of one kind."""

    compared: int = 0
    false_slower: int = 0
    planted: int = 0
    detected: int = 0
    ambiguous_planted: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)

    def fp_rate(self) -> float:
        return self.false_slower / self.compared if self.compared else float("nan")

    def detection(self) -> float:
        return self.detected / self.planted if self.planted else float("nan")


def run_rounds(rounds: int, min_samples: int, max_time_s: float, threads: int) -> list[RunResult]:
    """``rounds`` real runs of the suite on the CPU (``threads`` intra-op threads)."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "suite.yaml"
        path.write_text(SUITE.format(min_samples=min_samples, max_time_s=max_time_s))
        suite = attnbench.load_suite(str(path))
        runs = []
        for i in range(rounds):
            start = time.perf_counter()
            runs.append(attnbench.run_suite(suite, device="cpu"))
            print(
                f"run {i + 1}/{rounds}: {len(runs[-1].cases)} cases in "
                f"{time.perf_counter() - start:.1f} s",
                file=sys.stderr,
            )
    return runs


def plant(run: RunResult, factor: float, rng: random.Random) -> tuple[RunResult, set[str]]:
    """A copy of ``run`` with half of its ok cases' samples multiplied by ``factor``."""
    slowed = copy.deepcopy(run)
    ok = [c for c in slowed.cases if c.status == "ok"]
    chosen = {c.case_id for c in rng.sample(ok, max(1, len(ok) // 2))}
    for c in slowed.cases:
        if c.case_id in chosen:
            c.samples = [s * factor for s in c.samples]
            c.metrics["time/median_ms"] = c.metrics["time/median_ms"] * factor
    return slowed, chosen


def judge(base: RunResult, cur: RunResult, planted: set[str], tally: Tally) -> None:
    result = gate_runs(base, cur, defaults=CaseSettings())
    for c in result.cases:
        tally.verdicts[c.verdict] = tally.verdicts.get(c.verdict, 0) + 1
        if c.verdict in ("incomparable", "new", "missing", "not_run", "ignored"):
            continue
        tally.compared += 1
        if c.case_id in planted:
            tally.planted += 1
            tally.detected += c.verdict == "slower"
            tally.ambiguous_planted += c.verdict == "ambiguous"
        elif c.verdict in ("slower", "failed"):
            tally.false_slower += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="real runs (pairs = n(n-1)/2)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--min-samples", type=int, default=30)
    parser.add_argument("--max-time-s", type=float, default=0.3)
    parser.add_argument("--quick", action="store_true", help="tiny budgets: proves it runs")
    parser.add_argument("--seed", type=int, default=0, help="which cases get slowed")
    parser.add_argument(
        "--ignore-noise-flags",
        action="store_true",
        help="drop HIGH_NOISE codes before gating: the statistics alone, without the rule "
        "that a case flagged too noisy cannot confirm a change",
    )
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds must be at least 2")
    if args.quick:
        args.min_samples, args.max_time_s = 10, 0.05
    runs = run_rounds(args.rounds, args.min_samples, args.max_time_s, args.threads)
    noisy = sum("HIGH_NOISE" in c.warnings for r in runs for c in r.cases)
    total = sum(len(r.cases) for r in runs)
    if args.ignore_noise_flags:
        for r in runs:
            for c in r.cases:
                c.warnings = [w for w in c.warnings if w != "HIGH_NOISE"]
    rng = random.Random(args.seed)
    aa = Tally()
    planted = {f: Tally() for f in FACTORS}
    drifted = 0
    for i, j in itertools.combinations(range(len(runs)), 2):
        judge(runs[i], runs[j], set(), aa)
        drifted += gate_runs(runs[i], runs[j], defaults=CaseSettings()).drift.moved
        for factor, tally in planted.items():
            slowed, chosen = plant(runs[j], factor, rng)
            judge(runs[i], slowed, chosen, tally)
    pairs = len(runs) * (len(runs) - 1) // 2
    print(
        f"\ngate quality: {len(runs)} real runs, {pairs} pairs, default gate "
        "(5% threshold, Holm at 0.05, 1 µs floor)"
    )
    print(
        f"HIGH_NOISE cases: {noisy} of {total}"
        + (" (flags ignored for this evaluation)" if args.ignore_noise_flags else "")
    )
    print(f"canary drift detected (and normalised) in {drifted} of {pairs} pairs")
    print(
        f"A/A: {aa.false_slower} false regressions in {aa.compared} compared cases = "
        f"false-positive rate {aa.fp_rate():.2%} (goal <= 1%); verdicts {aa.verdicts}"
    )
    for factor, t in planted.items():
        print(
            f"planted {factor - 1:.0%}: {t.detected}/{t.planted} detected = "
            f"{t.detection():.1%} ({t.ambiguous_planted} ambiguous); false regressions "
            f"among unplanted {t.false_slower}/{t.compared - t.planted}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
