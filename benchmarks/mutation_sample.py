"""Mutation score of the test suite from a uniform random sample of mutmut's mutants.

A full ``mutmut run`` over the configured scope (``[tool.mutmut]`` in ``pyproject.toml``:
about 7,500 mutants) takes hours on two cores. A seeded uniform sample of ``--size``
mutants gives the score with a stated 95% interval (Wilson, from ``scipy.stats.binomtest``)
in minutes: 600 mutants pin it to about ±3.5 points. Detected: killed, timed out, caught by
the type checker or crashed; undetected: survived or covered by no test. Skipped and
suspicious mutants are counted apart and left out of the score.

    .venv/bin/python benchmarks/mutation_sample.py --size 600            # sample, run, score
    .venv/bin/python benchmarks/mutation_sample.py --size 600 --no-run   # score what is there

Run it from the repository root. mutmut works in ``mutants/`` (a copy of the tree, kept
between runs: a mutant already tested keeps its result unless its function changed or it is
named again, and every sampled mutant is named). ``OMP_NUM_THREADS=1`` is set for mutmut's
workers: they are forked from a process that ran torch, and a worker that needs an
inherited OpenMP thread pool hangs until its timeout, which mutmut would count as a kill.
A different ``--seed`` draws an independent sample: use a fresh one to score tests written
against the survivors of another.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from mutmut.stats import status_by_exit_code
from scipy.stats import binomtest

DETECTED = ("killed", "timeout", "caught by type check", "segfault")
UNDETECTED = ("survived", "no tests")
MUTMUT = str(Path(sys.executable).with_name("mutmut"))


def results(root: Path) -> dict[str, int | None]:
    """Every generated mutant's stored exit code (None: not yet tested)."""
    out: dict[str, int | None] = {}
    for meta in sorted((root / "mutants").glob("**/*.py.meta")):
        out.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    return out


def generate(root: Path) -> None:
    """Have mutmut generate the mutants (and its test statistics) without testing any: it
    exits non-zero when asked for a mutant that does not exist, after both steps."""
    subprocess.run([MUTMUT, "run", "attnbench.__sample_generation_only__"], cwd=root,
                   env=_env(), capture_output=True, check=False)  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def package(name: str) -> str:
    """``attnbench.compare.gate.x_gate_runs__mutmut_3`` → ``compare``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 2 else parts[0]


def score(statuses: list[str]) -> tuple[int, int, float, float, float]:
    """Detected, scored, score and its 95% Wilson interval."""
    detected = sum(s in DETECTED for s in statuses)
    scored = detected + sum(s in UNDETECTED for s in statuses)
    if scored == 0:
        return 0, 0, float("nan"), float("nan"), float("nan")
    ci = binomtest(detected, scored).proportion_ci(confidence_level=0.95, method="wilson")
    return detected, scored, detected / scored, ci.low, ci.high


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=600, help="mutants in the sample")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--no-run", action="store_true", help="score stored results only")
    parser.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    stored = results(args.root)
    if not stored and not args.no_run:
        print("generating mutants and test statistics (a few minutes) ...", file=sys.stderr)
        generate(args.root)
        stored = results(args.root)
    if not stored:
        parser.error(f"no mutants under {args.root / 'mutants'}: run without --no-run first")
    names = sorted(stored)
    sample = sorted(random.Random(args.seed).sample(names, min(args.size, len(names))))
    if not args.no_run:
        cmd = [MUTMUT, "run", "--max-children", str(args.max_children), *sample]
        subprocess.run(cmd, cwd=args.root, env=_env(), check=False, stdout=subprocess.DEVNULL)
        stored = results(args.root)
    status = {n: status_by_exit_code[stored.get(n)] for n in sample}
    print(f"{len(sample)} of {len(names)} mutants sampled (seed {args.seed})")
    by_package: dict[str, list[str]] = collections.defaultdict(list)
    for name, s in status.items():
        by_package[package(name)].append(s)
    rows = [("all", list(status.values())), *sorted(by_package.items())]
    for label, statuses in rows:
        detected, scored, p, low, high = score(statuses)
        other = collections.Counter(s for s in statuses if s not in DETECTED + UNDETECTED)
        extra = f"; not scored: {dict(other)}" if other else ""
        print(f"{label:>9}: {detected}/{scored} detected = {p:.1%} "
              f"(95% CI {low:.1%} to {high:.1%}){extra}")  # fmt: skip
    for kind in UNDETECTED:
        listed = sorted(n for n, s in status.items() if s == kind)
        if listed:
            print(f"\n{kind} ({len(listed)}):")
            print("\n".join(f"  {n}" for n in listed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
