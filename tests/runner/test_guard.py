"""The memory guard skips a case whose estimate exceeds free memory, before building it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from attnbench import Case, variants
from attnbench.devices import get_device
from attnbench.results.store import load_results
from attnbench.runner.guard import estimate_bytes, free_bytes, guard_reason, guarded_skip
from tests.cli.conftest import CliResult

Cli = Callable[..., CliResult]
CASE = Case(batch=2, heads=4, seq_len=1024, head_dim=64, causal=False, dtype="fp32", params={})


def test_estimate_is_inputs_plus_working_memory() -> None:
    naive = variants.get("softmax.naive")
    qkv = 4 * 2 * 4 * 1024 * (64 + 64 + 64)
    assert estimate_bytes(naive, CASE) == qkv + naive.memory_bytes(CASE)
    assert naive.memory_bytes(CASE) >= 4 * 2 * 4 * 1024 * 1024  # the N×N scores


def test_guard_boundary_both_sides() -> None:
    naive = variants.get("softmax.naive")
    cpu = get_device("cpu")
    need = estimate_bytes(naive, CASE)
    assert guard_reason(naive, CASE, cpu, lambda d: need) is None  # exactly fits
    reason = guard_reason(naive, CASE, cpu, lambda d: need - 1)
    assert reason is not None
    assert f"({need:,} bytes" in reason and f"({need - 1:,} bytes) host memory available" in reason
    assert guard_reason(naive, CASE, cpu, lambda d: None) is None  # unknown: no guessing
    skipped = guarded_skip(naive, CASE, cpu, lambda d: 1)
    assert skipped is not None and skipped.status == "skipped"
    assert skipped.warnings == ["MEMORY_GUARD"] and skipped.fingerprint


def test_free_host_memory_is_real() -> None:
    free = free_bytes(get_device("cpu"))
    assert free is not None and free > 0


def test_a_case_too_big_for_the_host_is_skipped_in_a_real_run(cli: Cli, tmp_path: Path) -> None:
    suite = tmp_path / "big.yaml"
    suite.write_text(
        "version: 1\nname: big\naxes: {batch: 1, heads: 1, head_dim: 8, seq_len: [16]}\n"
        "variants: [softmax.naive, {name: softmax.sdpa_math, axes: {seq_len: [4194304]}}]\n"
        "timing: {warmup_ms: 1, min_samples: 3, min_time_ms: 1, max_time_s: 0.05}\n"
        "power: {enabled: off}\n"
    )
    out = tmp_path / "r.json"
    r = cli("run", str(suite), "-d", "cpu", "-o", str(out), "-q")
    assert r.code == 0, r.err
    cases = {c.variant: c for c in load_results(out).cases}
    assert cases["softmax.naive"].status == "ok"
    big = cases["softmax.sdpa_math"]
    assert big.status == "skipped"
    assert big.reason.startswith("memory guard: estimated ")
    assert "host memory available" in big.reason
    assert big.duration_s == 0.0  # nothing was built or timed
