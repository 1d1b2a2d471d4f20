"""CPU contention from the process's own counters: the rule at its edges, and a real busy
process sharing the core."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from attnbench.measure.contention import (
    MIN_SWITCHES,
    SWITCHES_PER_CPU_S,
    ContentionWindow,
    Usage,
    between,
    is_contended,
)


def test_rule_needs_both_enough_switches_and_a_high_rate() -> None:
    # the rate threshold, on both sides (1 CPU-second)
    assert is_contended(int(SWITCHES_PER_CPU_S), 1.0)
    assert not is_contended(int(SWITCHES_PER_CPU_S) - 1, 1.0)
    # a short window: a high rate from too few switches is not evidence
    assert not is_contended(MIN_SWITCHES - 1, 0.01)
    assert is_contended(MIN_SWITCHES, 0.01)
    # a long window: many switches at a low rate (kernel work) are not contention
    assert not is_contended(1000, 1000.0 / (SWITCHES_PER_CPU_S - 1))
    assert not is_contended(MIN_SWITCHES, 0.0)


def test_report_metrics_are_deltas_over_the_window() -> None:
    report = between(Usage(10.0, 5.0, 100, 7), Usage(12.0, 7.0, 300, 9), threads=2)
    assert report.invol_switches == 200 and report.vol_switches == 2
    assert report.switches_per_cpu_s == 100.0
    assert report.utilisation == pytest.approx(0.5)  # 2 CPU-s of 2 threads x 2 s
    assert report.contended
    metrics = report.metrics()
    assert metrics["host/invol_ctx_switches"] == 200.0
    assert metrics["host/cpu_utilisation"] == pytest.approx(0.5)
    assert metrics["host/threads"] == 2.0


def test_window_is_a_context_manager_and_a_start_stop_pair() -> None:
    with ContentionWindow(threads=1) as window:
        sum(range(10_000))
    assert window.report is not None and window.report.wall_s > 0
    pair = ContentionWindow(threads=1)
    with pytest.raises(RuntimeError, match="before start"):
        pair.stop()
    pair.start()
    assert pair.stop().threads == 1


_CHILD = textwrap.dedent(
    """
    import json, os, subprocess, sys, time
    import torch
    from attnbench.measure.contention import ContentionWindow
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    torch.set_num_threads(1)
    hog = subprocess.Popen([sys.executable, "-c",
        f"import os\\nos.sched_setaffinity(0, {{{cpu}}})\\nwhile True: pass"])
    try:
        time.sleep(0.3)
        x = torch.randn(128, 128)
        with ContentionWindow(threads=1) as w:
            end = time.perf_counter() + 0.6
            while time.perf_counter() < end:
                x @ x
    finally:
        hog.kill()
        hog.wait()
    r = w.report
    print(json.dumps({"switches": r.invol_switches, "util": r.utilisation,
                      "contended": r.contended}))
    """
)


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_setaffinity"), reason="Linux only")
def test_a_busy_process_on_the_same_core_is_detected() -> None:
    """A real CPU hog pinned to our core: the scheduler must preempt us every few ms."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["contended"], seen
    assert seen["switches"] >= MIN_SWITCHES
    assert seen["util"] < 0.8, seen  # the hog took a share of the core
