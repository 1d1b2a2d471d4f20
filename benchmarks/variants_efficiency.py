"""Every variant's CPU cost relative to torch SDPA, and streaming memory at long N.

Part 1 — time: each variant (B1 H8 N2048 D64 fp32, forward) is timed with attnbench's
timing loop right after ``softmax.sdpa`` at the same shape, and the ratio of the adjacent
medians is printed (interleaving cancels slow drift of a shared machine).

Part 2 — O(N) forms at N=16384: each variant whose memory model is O(N) runs one forward
call inside the CPU memory window; its measured peak (RSS above the pre-call level) is printed
as a fraction of the N×N fp32 score matrix it avoids (B·H·N²·4 bytes = 8 GiB here), and the
linear-time variants' time as a ratio to SDPA at the same N.

    .venv/bin/python benchmarks/variants_efficiency.py [--n 2048] [--long-n 16384] [--skip-long]
"""

from __future__ import annotations

import argparse
import gc

import torch

from attnbench import Case, variants
from attnbench.devices import CpuDevice
from attnbench.errors import UnsupportedCase
from attnbench.measure.bench import make_call
from attnbench.measure.timing import measure
from attnbench.suite.schema import TimingSettings

QUICK = TimingSettings(warmup_ms=50, min_samples=5, min_time_ms=300, max_time_s=2.0,
                       target_rel_iqr=0.02)
ONE_CALL = TimingSettings(warmup_ms=0, min_samples=1, min_time_ms=0, max_time_s=0.0,
                          target_rel_iqr=1.0)


def median_ms(name: str, case: Case, settings: TimingSettings) -> float:
    v = variants.get(name)
    inputs = v.make_inputs(case)
    with v.call_context(case):
        v.setup(inputs, case)
        return measure(make_call(v, inputs, case), CpuDevice(), settings).summary.median_ms


def part_time(n: int) -> None:
    print(f"\n== time ratio to softmax.sdpa, B1 H8 N{n} D64 fp32 fwd, "
          f"{torch.get_num_threads()} threads ==")
    print(f"{'variant':<26} {'ms':>9} {'sdpa ms':>9} {'ratio':>6}  memory  note")
    for name in variants.names():
        case = Case(1, 8, n, 64, False, "fp32", {}, name, "fwd")
        v = variants.get(name)
        why = v.unsupported(case, "cpu")
        if why:
            print(f"{name:<26} {'':>9} {'':>9} {'':>6}  skipped: {why}")
            continue
        try:
            base = median_ms("softmax.sdpa", case.replace(variant="softmax.sdpa"), QUICK)
            ms = median_ms(name, case, QUICK)
        except UnsupportedCase as exc:
            print(f"{name:<26} {'':>9} {'':>9} {'':>6}  skipped: {str(exc)[:90]}")
            continue
        except Exception as exc:  # report and continue: a benchmark, not a test
            print(f"{name:<26} error: {type(exc).__name__}: {str(exc)[:80]}")
            continue
        print(f"{name:<26} {ms:>9.2f} {base:>9.2f} {ms / base:>6.2f}  {v.info.memory_complexity}")


def part_long(n: int) -> None:
    device = CpuDevice()
    score_bytes = 1 * 8 * n * n * 4
    print(f"\n== O(N) forms at N={n} (N×N fp32 scores would be {score_bytes / 2**30:.1f} GiB) ==")
    base_case = Case(1, 8, n, 64, False, "fp32", {}, "softmax.sdpa", "fwd")
    base_ms = median_ms("softmax.sdpa", base_case, ONE_CALL)
    print(f"softmax.sdpa one call: {base_ms / 1e3:.2f} s")
    print(f"{'variant':<26} {'peak MiB':>9} {'of N×N':>7} {'time s':>7} {'/ sdpa':>7}")
    for name in variants.names():
        v = variants.get(name)
        if v.info.memory_complexity != "O(N)" or name.startswith("softmax.sdpa"):
            continue
        case = base_case.replace(variant=name)
        if v.unsupported(case, "cpu"):
            continue
        inputs = v.make_inputs(case)
        try:
            v.setup(inputs, case)
            gc.collect()
            with device.memory_window() as mem, torch.no_grad():
                out = v(inputs, case)
                del out
            ms = median_ms(name, case, ONE_CALL)
        except Exception as exc:
            print(f"{name:<26} error: {type(exc).__name__}: {str(exc)[:80]}")
            continue
        peak = mem.peak_bytes or 0
        print(f"{name:<26} {peak / 2**20:>9.1f} {peak / score_bytes:>7.2%} "
              f"{ms / 1e3:>7.2f} {ms / base_ms:>7.3f}")
        del inputs
        gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--long-n", type=int, default=16384)
    parser.add_argument("--skip-long", action="store_true")
    args = parser.parse_args()
    part_time(args.n)
    if not args.skip_long:
        part_long(args.long_n)


if __name__ == "__main__":
    main()
