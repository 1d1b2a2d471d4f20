"""How good is ``attnbench gate``? False alarms on A/A runs, detections of planted slowdowns.

Runs a small CPU suite ``--rounds`` times in this process (real kernels, real timing, each run
with its canary), then gates every pair of runs (i < j) against each other:

* **A/A**: the same code twice. Every ``slower`` or ``failed`` verdict is a false regression;
  the false-positive rate is their share of all compared cases (goal: <= 1%).
* **Planted**: for each pair and each factor (5%, 10%, 25%), a copy of the later run with the
  raw samples of a quarter of its cases (``--planted``; chosen at random, fixed seed)
  multiplied by the factor. A planted case called ``slower`` is a detection (goal for 10%:
  >= 95%); an unplanted one called ``slower`` counts as a false positive too. With half or
  more of the cases planted there is no bulk of unchanged cases to measure the spread by,
  and only the absolute route (the canary) can confirm the change.

The gate tests each case against the run-to-run noise it estimates (canary wander and case
spread, :mod:`attnbench.compare.noise`) as well as on its samples; the script prints that
noise per pair. On a shared, overloaded host the between-run swings are larger than anything
a two-run gate can separate from a 10% regression: the gate then calls such cases
``ambiguous`` (never ``slower``), and the detection figure says how little it could see.

``--simulate`` adds the same figures on synthetic runs made from the first real run: every
case's samples redrawn log-normally around its real median with ``--sim-within`` noise, a
per-case run-to-run offset of ``--sim-offset``, a whole-run machine shift of ``--sim-shift``
that the canary sees, and canary checkpoints wandering by ``--sim-wander``. It shows the
gate's operating characteristic on a machine as steady as the numbers say (a dedicated GPU
runner is typically this steady or steadier), independent of this host's noise.

    .venv/bin/python benchmarks/gate_quality.py --rounds 8 --simulate  # real + simulated
    .venv/bin/python benchmarks/gate_quality.py --rounds 2 --quick    # smoke test of the script

``--save-runs DIR`` keeps the real runs; ``--load-runs DIR`` gates them again without
measuring (the same evidence for two versions of the gate).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import itertools
import math
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

import attnbench
from attnbench.compare.gate import GateResult, gate_runs
from attnbench.compare.policy import CaseSettings
from attnbench.results.schema import RunResult
from attnbench.results.store import load_results, save_results

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


def plant(
    run: RunResult, factor: float, rng: random.Random, fraction: float
) -> tuple[RunResult, set[str]]:
    """A copy of ``run`` with ``fraction`` (``--planted``) of its ok cases' samples
    multiplied by ``factor``."""
    slowed = copy.deepcopy(run)
    ok = [c for c in slowed.cases if c.status == "ok"]
    chosen = {c.case_id for c in rng.sample(ok, max(1, round(len(ok) * fraction)))}
    for c in slowed.cases:
        if c.case_id in chosen:
            c.samples = [s * factor for s in c.samples]
            c.metrics["time/median_ms"] = c.metrics["time/median_ms"] * factor
    return slowed, chosen


def simulate(
    template: RunResult,
    rounds: int,
    within: float,
    offset: float,
    shift: float,
    wander: float,
    seed: int,
    copies: int = 1,
) -> list[RunResult]:
    """``rounds`` synthetic runs shaped like ``template`` (log-normal noise; see the module
    docstring for the four terms, each a log-scale standard deviation), each of the
    template's cases taken ``copies`` times under distinct ids (a larger suite)."""
    rng = random.Random(seed)
    template = copy.deepcopy(template)
    template.cases = [
        dataclasses.replace(c, case_id=f"{c.case_id}-copy{k}") if k else c
        for k in range(copies)
        for c in template.cases
    ]
    out = []
    for _ in range(rounds):
        r = copy.deepcopy(template)
        speed = math.exp(rng.gauss(0, shift))
        for c in r.cases:
            if c.status != "ok" or not c.samples:
                continue
            centre = sorted(c.samples)[len(c.samples) // 2] * speed * math.exp(rng.gauss(0, offset))
            c.samples = [centre * math.exp(rng.gauss(0, within)) for _ in c.samples]
            c.warnings = [w for w in c.warnings if w != "HIGH_NOISE"]
            c.metrics["time/median_ms"] = sorted(c.samples)[len(c.samples) // 2]
        for point in r.run.get("canary", {}).get("points", []):
            if point.get("samples_ms"):
                mid = 0.2 * speed * math.exp(rng.gauss(0, wander))
                point["samples_ms"] = [mid * math.exp(rng.gauss(0, 0.005)) for _ in range(15)]
        out.append(r)
    return out


def evaluate(
    runs: list[RunResult], seed: int, fraction: float
) -> tuple[Tally, dict[float, Tally], int, list[tuple[float, float, float]]]:
    """Gate every pair of ``runs`` A/A and with ``fraction`` of the cases slowed."""
    rng = random.Random(seed)
    aa = Tally()
    planted = {f: Tally() for f in FACTORS}
    drifted = 0
    noise: list[tuple[float, float, float]] = []
    for i, j in itertools.combinations(range(len(runs)), 2):
        result = gate_runs(runs[i], runs[j], defaults=CaseSettings())
        judge(runs[i], runs[j], set(), aa, result)
        drifted += result.drift.moved
        n = result.noise
        noise.append((n.sd_log, n.case_sd_log, n.machine_sd_log))
        for factor, tally in planted.items():
            slowed, chosen = plant(runs[j], factor, rng, fraction)
            judge(runs[i], slowed, chosen, tally)
    return aa, planted, drifted, noise


def _spread(values: list[float]) -> str:
    """``median (min to max)`` of log-scale standard deviations, as percentages."""
    v = sorted(values)
    return f"median {math.expm1(v[len(v) // 2]):.1%}, range {math.expm1(v[0]):.1%} to " + (
        f"{math.expm1(v[-1]):.1%}"
    )


def report(
    title: str,
    runs: int,
    aa: Tally,
    planted: dict[float, Tally],
    drifted: int,
    noise: list[tuple[float, float, float]],
) -> None:
    pairs = runs * (runs - 1) // 2
    print(
        f"\n{title}: {runs} runs, {pairs} pairs, default gate (5% threshold, Holm at 0.05, "
        "1 µs floor)"
    )
    print(f"canary drift detected (and normalised) in {drifted} of {pairs} pairs")
    print(f"run-to-run noise per pair (1 sd): {_spread([n[0] for n in noise])}")
    print(f"  case spread: {_spread([n[1] for n in noise])}")
    print(f"  canary wander: {_spread([n[2] for n in noise])}")
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


def judge(
    base: RunResult,
    cur: RunResult,
    planted: set[str],
    tally: Tally,
    result: GateResult | None = None,
) -> None:
    result = result or gate_runs(base, cur, defaults=CaseSettings())
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


def _index(path: Path) -> int:
    """N of ``run-N.json``."""
    return int(path.stem.split("-")[-1])


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
    parser.add_argument("--simulate", action="store_true", help="also gate synthetic runs")
    parser.add_argument("--sim-rounds", type=int, default=12)
    parser.add_argument("--sim-within", type=float, default=0.02, help="log-sd per sample")
    parser.add_argument("--sim-offset", type=float, default=0.01, help="log-sd per case, run")
    parser.add_argument("--sim-shift", type=float, default=0.03, help="log-sd per run (all)")
    parser.add_argument("--sim-copies", type=int, default=4,
                        help="each real case taken this many times (suite size)")  # fmt: skip
    parser.add_argument("--sim-wander", type=float, default=0.005, help="canary checkpoints")
    parser.add_argument("--save-runs", type=Path, metavar="DIR",
                        help="write the real runs to DIR (run-1.json, ...)")  # fmt: skip
    parser.add_argument("--load-runs", type=Path, metavar="DIR",
                        help="gate the runs saved in DIR, measuring none")  # fmt: skip
    parser.add_argument("--planted", type=float, default=0.25,
                        help="fraction of the cases slowed in each planted copy")  # fmt: skip
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds must be at least 2")
    if args.quick:
        args.min_samples, args.max_time_s = 10, 0.05
    if args.load_runs:
        runs = [load_results(p) for p in sorted(args.load_runs.glob("run-*.json"), key=_index)]
        if len(runs) < 2:
            parser.error(f"--load-runs: {args.load_runs} holds fewer than 2 run-N.json files")
    else:
        runs = run_rounds(args.rounds, args.min_samples, args.max_time_s, args.threads)
    if args.save_runs:
        args.save_runs.mkdir(parents=True, exist_ok=True)
        for k, r in enumerate(runs, 1):
            save_results(r, args.save_runs / f"run-{k}.json")
    noisy = sum("HIGH_NOISE" in c.warnings for r in runs for c in r.cases)
    total = sum(len(r.cases) for r in runs)
    if args.ignore_noise_flags:
        for r in runs:
            for c in r.cases:
                c.warnings = [w for w in c.warnings if w != "HIGH_NOISE"]
    print(
        f"\nHIGH_NOISE cases: {noisy} of {total}"
        + (" (flags ignored for this evaluation)" if args.ignore_noise_flags else "")
    )
    report("real runs", len(runs), *evaluate(runs, args.seed, args.planted))
    if args.simulate:
        fake = simulate(runs[0], args.sim_rounds, args.sim_within, args.sim_offset,
                        args.sim_shift, args.sim_wander, args.seed, args.sim_copies)  # fmt: skip
        report(
            f"simulated (within {args.sim_within:.1%}, offset {args.sim_offset:.1%}, shift "
            f"{args.sim_shift:.1%}, canary wander {args.sim_wander:.1%}, "
            f"{len(fake[0].cases)} cases)",
            len(fake),
            *evaluate(fake, args.seed, args.planted),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
