"""A/A ratios: can attnbench tell a kernel from itself, sequentially and interleaved?

``softmax.sdpa`` and ``softmax.sdpa_flash`` are the same CPU kernel under two names (torch
picks its flash kernel for these shapes either way). One suite times both at N 256, 512 and
1024 (B1 H8 D64 fp32 fwd) four ways: quiet or under a bursty background load (a real
subprocess that spins one core for ``--burst-ms`` then sleeps ``--idle-ms``, bounded in
time), and one case at a time (``timing.interleave: false``) or in comparison groups
(``interleave: true``). Each line is the ratio flash / sdpa: the ratio of the two medians
when sequential (no interval: the cases were timed apart), the paired ratio with its 95%
interval when interleaved. The target is a ratio within [0.95, 1.05] at every N under the
bursty load when interleaved.

    .venv/bin/python benchmarks/aa_ratio.py            # the full run (several minutes)
    .venv/bin/python benchmarks/aa_ratio.py --quick    # N 64/128, short budgets: a smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from attnbench import run_suite
from attnbench.results.schema import CaseResult, RunResult
from attnbench.suite import load_suite_text

BASE, OTHER = "softmax.sdpa", "softmax.sdpa_flash"
TARGET = 0.05

SUITE = """\
version: 1
name: aa_ratio
device: cpu
dtype: fp32
pass: fwd
axes: {{batch: 1, heads: {heads}, seq_len: {lengths}, head_dim: {head_dim}}}
variants: [softmax.sdpa, softmax.sdpa_flash]
baseline: softmax.sdpa
timing: {{warmup_ms: 25, min_samples: {min_samples}, min_time_ms: {min_time_ms},
         max_time_s: {max_time_s}, target_rel_iqr: 0.01, interleave: {interleave}}}
power: {{enabled: off}}
check: off
"""

LOAD = """\
import sys, time
end = time.monotonic() + float(sys.argv[1])
burst, idle = float(sys.argv[2]) / 1e3, float(sys.argv[3]) / 1e3
while time.monotonic() < end:
    stop = time.monotonic() + burst
    while time.monotonic() < stop:
        pass
    time.sleep(idle)
"""


@contextlib.contextmanager
def bursty_load(cap_s: float, burst_ms: float, idle_ms: float) -> Iterator[subprocess.Popen[bytes]]:
    """One core spun in bursts by a child process that ends by itself after ``cap_s``."""
    child = subprocess.Popen(
        [sys.executable, "-c", LOAD, str(cap_s), str(burst_ms), str(idle_ms)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@dataclass(frozen=True)
class Line:
    """One configuration at one N: the A/A ratio and, when paired, its interval."""

    load: str
    mode: str
    seq_len: int
    ratio: float
    low: float | None
    high: float | None
    samples: int

    def verdict(self) -> str:
        inside = abs(self.ratio - 1.0) <= TARGET
        return "ok" if inside else "OUT"


def ratios(run: RunResult, load: str, mode: str) -> list[Line]:
    """flash / sdpa at every N of ``run``: the stored paired ratio, else the medians'."""
    by_n: dict[int, dict[str, CaseResult]] = {}
    for case in run.cases:
        if case.status == "ok":
            by_n.setdefault(int(case.params["seq_len"]), {})[case.variant] = case
    out = []
    for n, pair in sorted(by_n.items()):
        base, other = pair.get(BASE), pair.get(OTHER)
        if base is None or other is None:
            continue
        m, b = other.metrics, base.metrics
        samples = int(min(m["time/samples"], b["time/samples"]))
        if "ratio/to_baseline" in m:
            out.append(Line(load, mode, n, m["ratio/to_baseline"], m.get("ratio/ci_low"),
                            m.get("ratio/ci_high"), int(m["ratio/pairs"])))
        else:
            out.append(Line(load, mode, n, m["time/median_ms"] / b["time/median_ms"], None,
                            None, samples))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N 64/128, short budgets")
    parser.add_argument("--lengths", type=int, nargs="+", default=None)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--burst-ms", type=float, default=40.0)
    parser.add_argument("--idle-ms", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--load-cap-s", type=float, default=900.0,
                        help="the background process ends by itself after this long")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    lengths = args.lengths or ([64, 128] if args.quick else [256, 512, 1024])
    budget = (
        {"min_samples": 10, "min_time_ms": 100, "max_time_s": 0.6} if args.quick
        else {"min_samples": 30, "min_time_ms": 1000, "max_time_s": 8}
    )
    lines: list[Line] = []
    started = time.perf_counter()
    for load in ("quiet", "bursty"):
        for mode, interleave in (("sequential", "false"), ("interleaved", "true")):
            text = SUITE.format(heads=args.heads, head_dim=args.head_dim,
                                lengths=list(lengths), interleave=interleave, **budget)
            suite = load_suite_text(text, "aa_ratio.yaml")
            with contextlib.ExitStack() as stack:
                if load == "bursty":
                    stack.enter_context(bursty_load(args.load_cap_s, args.burst_ms, args.idle_ms))
                run = run_suite(suite, "cpu")
            lines += ratios(run, load, mode)
    print(f"A/A: {OTHER} / {BASE}, B1 H{args.heads} D{args.head_dim} fp32 fwd, "
          f"torch threads {torch.get_num_threads()}, bursts {args.burst_ms:g} ms on / "
          f"{args.idle_ms:g} ms off on one core; target |ratio - 1| <= {TARGET:.0%}")
    print(f"{'load':7} {'mode':12} {'N':>5} {'ratio':>7} {'95% interval':>15} {'n':>5}  target")
    for ln in lines:
        interval = (f"{ln.low:.3f}–{ln.high:.3f}" if ln.low is not None and ln.high is not None
                    else "none (unpaired)")
        print(f"{ln.load:7} {ln.mode:12} {ln.seq_len:5d} {ln.ratio:7.3f} {interval:>15} "
              f"{ln.samples:5d}  {ln.verdict()}")
    goal = [ln for ln in lines if ln.load == "bursty" and ln.mode == "interleaved"]
    met = bool(goal) and all(ln.verdict() == "ok" for ln in goal)
    print(f"bursty + interleaved within ±{TARGET:.0%} at every N: {'yes' if met else 'NO'} "
          f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
