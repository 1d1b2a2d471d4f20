"""kill -9 of a real ``attnbench run`` mid-run: the journal keeps every finished case, and
``--resume`` loses nothing and measures nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from attnbench.results.journal import journal_path
from attnbench.results.store import load_results

SUITE = """\
version: 1
name: killme
dtype: fp32
pass: [fwd]
axes: {batch: 1, heads: 2, seq_len: [16, 24, 32, 40, 48], head_dim: 8,
       causal: [false, true]}
variants: [softmax.naive, softmax.sdpa_math]
timing: {warmup_ms: 1, min_samples: 3, min_time_ms: 50, max_time_s: 0.2, target_rel_iqr: 0.5,
         interleave: false}  # one case per unit of work: the loss is exactly the case in flight
power: {enabled: off}
check: off
"""
TOTAL = 20


def journaled_ids(path: Path) -> list[str]:
    """Case ids on complete journal lines (the header and a torn last line left out)."""
    if not path.exists():
        return []
    complete = path.read_text().split("\n")[:-1]
    return [json.loads(line)["case_id"] for line in complete[1:]]


def test_kill_9_then_resume_loses_nothing_repeats_nothing(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text(SUITE)
    out = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "attnbench", "run", str(suite), "-d", "cpu", "-o", str(out),
           "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    jpath = journal_path(out)
    deadline = time.monotonic() + 180
    try:
        while len(journaled_ids(jpath)) < 3:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the run journaled nothing in time"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    on_disk = load_results(out)  # the file plus the journal it left
    journaled = journaled_ids(jpath)
    kept = {c.case_id: c.samples for c in on_disk.cases}
    assert set(journaled) <= set(kept)  # nothing that reached the journal is lost
    assert 3 <= len(kept) < TOTAL
    assert on_disk.run["completed"] is False

    loud = [a for a in cmd if a != "-q"]  # the progress lines say how many were kept
    r = subprocess.run([*loud, "--resume"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"resuming: {len(kept)} of {TOTAL} cases already done" in r.stderr
    full = load_results(out)
    ids = [c.case_id for c in full.cases]
    assert len(ids) == TOTAL == len(set(ids))
    for case_id, samples in kept.items():
        assert full.case(case_id).samples == samples  # type: ignore[union-attr]
    assert full.run["completed"] is True
    assert not jpath.exists()  # consolidated and removed
    assert "journal" not in full.run  # the folding note does not outlive the journal
