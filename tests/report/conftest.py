"""A realistic stored run, built in code, for the report and ``show`` tests.

Seven variants on an H100 at b1 h16 d64 bf16 fwd, full and causal, N from 1K to 16K, with
every status and most warning codes: an ok case whose energy was not measured, skipped cases
with reasons, an out-of-memory case (estimate only), a failed check and a crash with a
multi-line reason. Values are fixed so the golden files never change by themselves.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from attnbench.metrics.catalog import catalog_dict
from attnbench.results.schema import CaseResult, RunResult

SHAPE = {"batch": 1, "heads": 16, "head_dim": 64, "head_dim_v": 64, "dtype": "bf16", "pass": "fwd"}
GOLDEN = Path(__file__).parent / "golden"
UPDATE_ENV = "ATTNBENCH_UPDATE_GOLDEN"
WIDTH = 120
MIB = 1024**2
GIB = 1024**3


def _params(n: int, causal: bool, **extra: Any) -> dict[str, Any]:
    return {**SHAPE, "seq_len": n, "causal": causal, **extra}


def _case_id(variant: str, params: dict[str, Any]) -> str:
    mask = "causal" if params["causal"] else "full"
    extra = "".join(
        f"-{k}{v:g}" if isinstance(v, float) else f"-{k}{v}"
        for k, v in params.items()
        if k not in SHAPE and k not in ("seq_len", "causal")
    )
    return f"{variant}/b1-h16-n{params['seq_len']}-d64-{mask}-bf16-fwd{extra}"


def ok_case(
    variant: str,
    params: dict[str, Any],
    *,
    median_ms: float,
    flops: float,
    peak: float,
    err: float,
    backend: str,
    joules: float | None,
    rel_iqr: float = 0.012,
    samples: int = 200,
    warnings: tuple[str, ...] = (),
    stop_reason: str = "converged",
    energy_reason: str = "",
) -> CaseResult:
    """An ``ok`` case with consistent derived metrics."""
    metrics = {
        "time/median_ms": median_ms,
        "time/rel_iqr": rel_iqr,
        "time/samples": float(samples),
        "flops/count": flops,
        "throughput/tflops": flops / (median_ms * 1e-3) / 1e12,
        "memory/peak_bytes": peak,
        "memory/estimate_bytes": peak * 0.98,
        "error/max_abs": err,
    }
    energy: dict[str, Any] = {"method": "unavailable", "reason": energy_reason}
    if joules is not None:
        metrics["energy/joules_per_call"] = joules
        metrics["power/mean_w"] = joules / (median_ms * 1e-3)
        energy = {"method": "nvml_energy_counter", "reason": ""}
    return CaseResult(
        case_id=_case_id(variant, params),
        variant=variant,
        params=params,
        status="ok",
        fingerprint="f" * 16,
        backend=backend,
        metrics=metrics,
        samples=[median_ms] * 3,
        stop_reason=stop_reason,
        warnings=list(warnings),
        energy=energy,
        duration_s=1.5,
    )


def bad_case(
    variant: str, params: dict[str, Any], status: str, reason: str, **extra: Any
) -> CaseResult:
    """A case that did not run (``skipped``, ``oom`` or ``failed``)."""
    return CaseResult(
        case_id=_case_id(variant, params),
        variant=variant,
        params=params,
        status=status,
        reason=reason,
        fingerprint="f" * 16,
        **extra,
    )


def _flops(n: int, causal: bool) -> float:
    return 4.0 * 16 * n * n * 64 / (2 if causal else 1)


def _sdpa_cases() -> list[CaseResult]:
    v = "softmax.sdpa"
    return [
        ok_case(
            v,
            _params(1024, False),
            median_ms=0.02131,
            flops=_flops(1024, False),
            peak=2.06 * MIB,
            err=0.00195,
            backend="sdpa.flash",
            joules=0.00981,
        ),
        ok_case(
            v,
            _params(1024, True),
            median_ms=0.01583,
            flops=_flops(1024, True),
            peak=2.06 * MIB,
            err=0.00195,
            backend="sdpa.flash",
            joules=0.00702,
        ),
        ok_case(
            v,
            _params(4096, False),
            median_ms=0.1762,
            flops=_flops(4096, False),
            peak=8.25 * MIB,
            err=0.00391,
            backend="sdpa.flash",
            joules=0.0891,
        ),
        ok_case(
            v,
            _params(4096, True),
            median_ms=0.1041,
            flops=_flops(4096, True),
            peak=8.25 * MIB,
            err=0.00391,
            backend="sdpa.flash",
            joules=0.0502,
            rel_iqr=0.142,
            samples=60,
            warnings=("HIGH_NOISE",),
        ),
        ok_case(
            v,
            _params(16384, False),
            median_ms=2.714,
            flops=_flops(16384, False),
            peak=33.0 * MIB,
            err=0.00391,
            backend="sdpa.flash",
            joules=1.894,
            warnings=("THROTTLED",),
        ),
        ok_case(
            v,
            _params(16384, True),
            median_ms=38.21,
            flops=_flops(16384, False),
            peak=8.03 * GIB,
            err=0.00781,
            backend="sdpa.math",
            joules=21.7,
            warnings=("BACKEND_FALLBACK",),
        ),
    ]


_NO_CAUSAL = (
    "cog.streaming does not support causal masking (its streaming kernel has no "
    "mask); use cog.naive for causal cases"
)
_OOM = (
    "CUDA out of memory. Tried to allocate 16.00 GiB. GPU 0 has a total capacity of "
    "79.19 GiB of which 6.38 GiB is free."
)


def _other_cases() -> list[CaseResult]:
    cog_s, cog_n, sk, dp = "cog.streaming", "cog.naive", "sinkhorn.log", "dipole.v2"
    return [
        ok_case(
            cog_s,
            _params(1024, False),
            median_ms=0.08712,
            flops=6.44e9,
            peak=3.1 * MIB,
            err=0.00293,
            backend="eager",
            joules=None,
            warnings=("ENERGY_WINDOW_TOO_SHORT",),
            energy_reason="window of 0.21 s spans fewer than 3 energy-counter updates",
        ),
        bad_case(cog_s, _params(1024, True), "skipped", _NO_CAUSAL),
        ok_case(
            cog_s,
            _params(4096, False),
            median_ms=1.2734,
            flops=1.03e11,
            peak=12.4 * MIB,
            err=0.00293,
            backend="eager",
            joules=0.611,
            rel_iqr=0.061,
            samples=412,
            warnings=("NOT_CONVERGED",),
            stop_reason="max_time",
        ),
        bad_case(cog_s, _params(4096, True), "skipped", _NO_CAUSAL),
        ok_case(
            cog_n,
            _params(1024, False),
            median_ms=0.3127,
            flops=6.44e9,
            peak=66.2 * MIB,
            err=0.00293,
            backend="eager",
            joules=0.141,
        ),
        bad_case(
            cog_n,
            _params(16384, False),
            "oom",
            _OOM,
            metrics={"flops/count": 1.65e12, "memory/estimate_bytes": 32.0 * GIB},
        ),
        ok_case(
            sk,
            _params(1024, False, iters=1),
            median_ms=0.0912,
            flops=4.3e9,
            peak=34.1 * MIB,
            err=0.00195,
            backend="eager",
            joules=0.0374,
        ),
        ok_case(
            sk,
            _params(1024, False, iters=5),
            median_ms=0.2583,
            flops=4.3e9,
            peak=34.1 * MIB,
            err=0.00195,
            backend="eager",
            joules=0.114,
        ),
        bad_case(
            sk,
            _params(1024, True, iters=5),
            "failed",
            "RuntimeError: CUDA error: an illegal memory access was encountered\n"
            "CUDA kernel errors might be asynchronously reported at some other API call",
        ),
        bad_case(
            dp,
            _params(1024, False, alpha=0.5, beta=0.5),
            "failed",
            "numerical check failed on dipole.v2/b1-h16-n512-d64-full-bf16-fwd: "
            "max_rel 3.1e-01 exceeds tolerance 2.0e-02",
            metrics={"error/max_abs": 0.406, "error/max_rel": 0.31},
            warnings=["NUMERICAL_MISMATCH"],
        ),
    ]


def sample_run() -> RunResult:
    """The realistic run described in the module docstring."""
    return RunResult(
        suite={
            "name": "variants_demo",
            "path": "suites/variants_demo.yaml",
            "content_hash": "sha256:0123abcd",
            "case_count": 16,
        },
        environment={
            "host": "gpu-node-7",
            "torch": "2.5.1+cu124",
            "cuda": "12.4",
            "python": "3.11.9",
            "gpus": [{"name": "NVIDIA H100 80GB HBM3"}],
        },
        settings={
            "device": {"kind": "cuda", "index": 0, "name": "NVIDIA H100 80GB HBM3"},
            "flush": "cold",
            "power": {"method": "nvml_energy_counter"},
        },
        cases=_sdpa_cases() + _other_cases(),
        git={"sha": "3f9c2ab1d4e5f60718293a4b5c6d7e8f90a1b2c3", "dirty": False},
        run={"completed": True},
        metric_catalog=catalog_dict(),
        attnbench_version="0.1.0",
        created_utc="2025-06-01T12:34:56+00:00",
    )


@pytest.fixture
def run_result() -> RunResult:
    """A fresh copy of :func:`sample_run` for each test."""
    return sample_run()


def plain_console(width: int = WIDTH) -> Console:
    """A recording console with no colour and no terminal: output is the same everywhere."""
    return Console(
        width=width,
        record=True,
        color_system=None,
        force_terminal=False,
        highlight=False,
        file=io.StringIO(),
    )


def normalise(text: str) -> str:
    """Trailing spaces removed from each line (rich pads table rows to the full width)."""
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def check_golden(name: str, text: str) -> None:
    """Compare ``text`` with ``golden/NAME``; with ATTNBENCH_UPDATE_GOLDEN=1, rewrite it."""
    path = GOLDEN / name
    text = normalise(text)
    if os.environ.get(UPDATE_ENV) == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run with {UPDATE_ENV}=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} changed; if intended, re-run with {UPDATE_ENV}=1"
