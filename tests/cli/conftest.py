"""Run the real CLI entry point (``attnbench.cli.main``) in-process and capture everything."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from attnbench.cli import main


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
        ) -> Callable[..., CliResult]:
    def invoke(*args: str) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["attnbench", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


FAST_SUITE = """\
version: 1
name: tiny
dtype: fp32
pass: [fwd]
axes: {batch: 1, heads: 2, seq_len: [32, 47], head_dim: 8, causal: [false, true]}
variants: [softmax.naive, softmax.sdpa_math]
timing: {warmup_ms: 1, min_samples: 3, min_time_ms: 1, max_time_s: 0.05, target_rel_iqr: 0.5}
power: {enabled: auto, min_window_s: 0.01}
"""


@pytest.fixture
def tiny_suite(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(FAST_SUITE)
    return path
