"""Constructed runs for compare/gate tests: deterministic samples, every field controlled."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from attnbench.metrics.catalog import catalog_dict
from attnbench.metrics.stats import summarize
from attnbench.results.schema import CaseResult, RunResult
from attnbench.results.store import save_results

GOLDEN = Path(__file__).parent / "golden"
UPDATE_ENV = "ATTNBENCH_UPDATE_GOLDEN"


def samples(median_ms: float, n: int = 40, noise: float = 0.02, seed: int = 0) -> list[float]:
    """``n`` log-normal samples around ``median_ms`` (log-sd ``noise``), reproducible."""
    rng = np.random.default_rng(seed)
    return [float(x) for x in median_ms * np.exp(rng.normal(0.0, noise, n))]


def params(n: int, causal: bool = False, dtype: str = "fp32") -> dict[str, Any]:
    return {
        "batch": 1,
        "heads": 2,
        "seq_len": n,
        "head_dim": 8,
        "head_dim_v": 8,
        "causal": causal,
        "dtype": dtype,
        "pass": "fwd",
    }


def case_id(variant: str, n: int, causal: bool = False, dtype: str = "fp32") -> str:
    return f"{variant}/b1-h2-n{n}-d8-{'causal' if causal else 'full'}-{dtype}-fwd"


def case(
    variant: str,
    n: int,
    sample_ms: list[float] | None = None,
    *,
    causal: bool = False,
    status: str = "ok",
    fingerprint: str = "a" * 16,
    warnings: tuple[str, ...] = (),
    extra: dict[str, float] | None = None,
    dtype: str = "fp32",
    reason: str = "",
) -> CaseResult:
    """A case whose metrics are consistent with its samples (TFLOP/s from 1 GFLOP/call)."""
    metrics: dict[str, float] = {}
    if sample_ms:
        metrics.update(summarize(sample_ms).as_metrics())
        metrics["flops/count"] = 1e9
        metrics["throughput/tflops"] = 1e9 / (metrics["time/median_ms"] * 1e-3) / 1e12
    metrics.update(extra or {})
    return CaseResult(
        case_id=case_id(variant, n, causal, dtype),
        variant=variant,
        params=params(n, causal, dtype),
        status=status,
        reason=reason,
        fingerprint=fingerprint,
        backend="eager",
        metrics=metrics if status == "ok" else {},
        samples=list(sample_ms or []) if status == "ok" else [],
        warnings=list(warnings),
    )


def canary_block(median_ms: float, noise: float = 0.005, seed: int = 7) -> dict[str, Any]:
    points = [
        {"phase": ph, "samples_ms": samples(median_ms, 15, noise, seed + i)}
        for i, ph in enumerate(("start", "middle", "end"))
    ]
    return {
        "kernel": "sdpa",
        "shape": [1, 4, 256, 32],
        "dtype": "fp32",
        "flops": 4 * 4 * 256 * 256 * 32,
        "device": "cpu",
        "points": points,
    }


def run(
    cases: list[CaseResult],
    *,
    device: str = "Test CPU 9000",
    kind: str = "cpu",
    torch: str = "2.13.0+cpu",
    driver: str | None = None,
    sha: str | None = "0123456789abcdef",
    canary_ms: float | None = 0.3,
    canary_noise: float = 0.005,
    canary_seed: int = 7,
) -> RunResult:
    """A run on ``device`` with ``cases`` and (unless None) a canary around ``canary_ms``."""
    env: dict[str, Any] = {"host": "test", "torch": torch, "cpu": {"model": device}}
    if driver is not None:
        env["nvml"] = {"driver_version": driver}
    extra: dict[str, Any] = {"completed": True}
    if canary_ms is not None:
        extra["canary"] = canary_block(canary_ms, canary_noise, canary_seed)
    return RunResult(
        suite={"name": "t", "path": "t.yaml", "content_hash": "h", "case_count": len(cases)},
        environment=env,
        settings={"device": {"kind": kind, "name": device}},
        cases=cases,
        git={"sha": sha, "dirty": False} if sha else {},
        run=extra,
        metric_catalog=catalog_dict(),
        attnbench_version="0.1.0",
        created_utc="2026-01-01T00:00:00Z",
    )


def save(r: RunResult, path: Path) -> Path:
    save_results(r, path)
    return path


def check_golden(name: str, text: str) -> None:
    """Compare ``text`` (trailing spaces stripped) with ``golden/NAME``; rewrite on request."""
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    path = GOLDEN / name
    if os.environ.get(UPDATE_ENV) == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run with {UPDATE_ENV}=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; re-run with {UPDATE_ENV}=1"
