"""Orchestration only: expand a suite, run each case, persist every finished case.

The runner never prints. It reports progress through a :class:`Progress` sink (the CLI draws
a rich progress bar with it) and hands each finished case to a
:class:`~attnbench.results.journal.ResultWriter`, which journals it at once and consolidates
the result file every few seconds, so an interrupted (even killed) run loses at most the case
in flight and ``resume=True`` picks up from there.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from attnbench import __version__, variants
from attnbench.case import Case
from attnbench.devices import Device, get_device
from attnbench.devices.peaks import GpuPeak, lookup_peak
from attnbench.errors import EnvironmentUnavailable, InputError
from attnbench.measure import canary
from attnbench.measure.bench import BenchSettings, frozen_startup_heap
from attnbench.measure.energy import EnergyMeter
from attnbench.measure.meters import make_meter
from attnbench.measure.profile import attach_profile
from attnbench.metrics.catalog import catalog_dict
from attnbench.results.environment import collect_environment, git_info
from attnbench.results.journal import ResultWriter, recover
from attnbench.results.outpath import claim_out
from attnbench.results.schema import FINISHED, CaseResult, RunResult
from attnbench.results.store import load_results
from attnbench.runner import distributed
from attnbench.runner.isolate import Isolation, case_runner
from attnbench.runner.shard import shard_cases
from attnbench.suite.expand import expand
from attnbench.suite.schema import Suite, TimingSettings


class Progress(Protocol):
    """Receives progress events; every method is optional to act on."""

    def started(self, total: int, skipped_done: int) -> None: ...

    def case_started(self, case: Case) -> None: ...

    def case_finished(self, result: CaseResult) -> None: ...


class NullProgress:
    """Progress sink that ignores every event (library use)."""

    def started(self, total: int, skipped_done: int) -> None:
        pass

    def case_started(self, case: Case) -> None:
        pass

    def case_finished(self, result: CaseResult) -> None:
        pass


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` → (K, N) with 1 <= K <= N; InputError otherwise."""
    try:
        k_text, n_text = text.split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise InputError(f"--shard must look like K/N (e.g. 1/4), got {text!r}") from None
    if not 1 <= k <= n:
        raise InputError(f"--shard {text}: need 1 <= K <= N")
    return k, n


def select_cases(
    cases: Sequence[Case],
    shard: tuple[int, int] | None,
    max_cases: int | None,
    timing: TimingSettings | None = None,
) -> list[Case]:
    """Shard K of N (1-based; cost-balanced, groups whole: :mod:`.shard`), then the first
    ``max_cases``. ``timing`` feeds the cost model (the suite's settings)."""
    chosen = list(cases)
    if shard is not None:
        chosen = shard_cases(chosen, shard[0], shard[1], timing)
    if max_cases is not None:
        chosen = chosen[:max_cases]
    return chosen


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_run(suite: Suite, device: Device, meter: EnergyMeter, settings: BenchSettings) -> RunResult:
    """An empty RunResult carrying provenance and settings."""
    return RunResult(
        attnbench_version=__version__,
        created_utc=_utc_now(),
        suite={
            "name": suite.name,
            "description": suite.description,
            "path": suite.path,
            "content_hash": suite.content_hash,
            "case_count": 0,
        },
        environment=collect_environment(),
        git=git_info(),
        settings={
            "device": device.describe(),
            "timing": asdict(settings.timing),
            "flush": device.flush_mode,
            "power": {**asdict(suite.power), **meter.status()},
            "check": settings.check,
            "seed": settings.seed,
        },
        run={"argv": list(sys.argv), "completed": False, "shard": None},
        metric_catalog=catalog_dict(),
    )


def _cooldown(seconds: float) -> None:
    """Idle between cases so clocks and temperature recover before the next is timed."""
    time.sleep(seconds)


def _peak(dev: Device) -> GpuPeak | None:
    """The peak-table entry of a GPU device (None on CPU or for an unknown GPU)."""
    if dev.kind != "cuda":
        return None
    info = dev.describe()
    return lookup_peak(
        str(info.get("name", "")), info.get("total_memory_bytes"), info.get("sm_count")
    ).peak


def _resume_from(path: Path, suite: Suite) -> RunResult:
    previous = load_results(path)
    if previous.suite.get("content_hash") != suite.content_hash:
        raise InputError(
            f"--resume: {path} was written by a different suite (content hash "
            f"{previous.suite.get('content_hash')!r} vs {suite.content_hash!r}); "
            "use a new --out path or rerun without --resume"
        )
    return previous


def run_suite(
    suite: Suite,
    device: str | None = None,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    shard: tuple[int, int] | None = None,
    max_cases: int | None = None,
    check: str | None = None,
    progress: Progress | None = None,
    isolation: Isolation | None = None,
    profile_dir: str | Path | None = None,
    cases: Sequence[Case] | None = None,
) -> RunResult:
    """Run every case of ``suite`` and return the RunResult (also saved to ``out``).

    Under torchrun (``RANK``/``WORLD_SIZE`` set), each rank runs its cost-balanced share and
    rank 0 returns (and writes to ``out``) the run of every rank: :mod:`.distributed`.

    Args:
        suite: a loaded suite.
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``; None uses the suite's.
        out: result file (each case journaled as it finishes, the file rewritten every few
            seconds and at the end); None keeps it in memory.
        resume: keep finished cases (ok, skipped, oom) from ``out`` and run the rest.
        shard: (K, N) to run part K of N (1-based), cost-balanced with groups kept whole.
        max_cases: stop after this many cases.
        check: ``reduced`` | ``full`` | ``off``; None uses the suite's.
        progress: sink for progress events.
        isolation: run each case in a spawned worker (``run --isolate``), see ``isolate``.
        profile_dir: profile every ok case into this directory (``run --profile``; see
            :mod:`attnbench.measure.profile`), after it was measured.
        cases: run exactly these cases (already selected) instead of expanding the suite;
            ``shard`` and ``max_cases`` are then ignored.

    Raises:
        EnvironmentUnavailable: the device, or required power measurement, is missing.
    """
    ranks = distributed.detect() if cases is None else None
    if ranks is not None:
        return _run_as_rank(ranks, suite, device, out=out, resume=resume, shard=shard,
                            max_cases=max_cases, check=check, progress=progress,
                            isolation=isolation, profile_dir=profile_dir)
    sink = progress or NullProgress()
    dev = get_device(device or suite.device, flush=suite.timing.flush,
                     cuda_graph=suite.timing.cuda_graph)
    if cases is None:
        cases = select_cases(expand(suite), shard, max_cases, suite.timing)
    meter = make_meter(dev, suite.power)
    if suite.power.enabled == "on" and not meter.available:
        raise EnvironmentUnavailable(f"power.enabled is 'on' but {meter.status()['reason']}")
    settings = BenchSettings(suite.timing, check or suite.check, suite.seed, _peak(dev))
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        if not resume:
            recover(out_path)  # a killed run's journal goes into its file before that is kept
        claim_out(out_path, suite.path, resume)
    if resume and out_path is not None and out_path.exists():
        run = _resume_from(out_path, suite)
        run.run["resumed_utc"] = _utc_now()
    else:
        run = new_run(suite, dev, meter, settings)
        run.settings["power"]["idle_w"] = meter.idle_power_w()
        run.settings["peak"] = settings.peak.to_dict() if settings.peak else None
    run.suite["case_count"] = len(cases)
    if suite.timing.cuda_graph and dev.kind != "cuda":
        run.run["warnings"] = [
            "CUDA_GRAPH_UNAVAILABLE: timing.cuda_graph applies to CUDA devices only; "
            f"samples on {dev.name} are plain calls"
        ]
    run.run["shard"] = f"{shard[0]}/{shard[1]}" if shard else None
    done = {c.case_id for c in run.cases if c.status in FINISHED}
    todo = [c for c in cases if c.case_id not in done]
    sink.started(len(cases), len(cases) - len(todo))
    measure_one = case_runner(dev, settings, meter, suite.power, isolation)
    writer = ResultWriter(run, out_path)
    writer.start()
    try:
        with frozen_startup_heap():
            for i, case in enumerate(todo):
                canary.tick(run, dev, i, len(todo))
                if i and suite.power.cooldown_s > 0:
                    _cooldown(suite.power.cooldown_s)
                sink.case_started(case)
                result = measure_one(case)
                if profile_dir is not None:
                    base = out_path.parent if out_path is not None else Path(profile_dir).parent
                    attach_profile(result, variants.get(case.variant), case, dev, settings.seed,
                                   Path(profile_dir), base)
                writer.record(result)
                sink.case_finished(result)
            canary.finish(run, dev)
        run.run["completed"] = True
        run.run["finished_utc"] = _utc_now()
    finally:
        meter.close()
        writer.close()
    return run


def _run_as_rank(
    info: distributed.RankInfo,
    suite: Suite,
    device: str | None,
    *,
    out: str | Path | None,
    resume: bool,
    shard: tuple[int, int] | None,
    max_cases: int | None,
    check: str | None,
    progress: Progress | None,
    isolation: Isolation | None,
    profile_dir: str | Path | None,
) -> RunResult:
    """This torchrun rank's share of the (sharded, capped) cases; see :mod:`.distributed`."""
    spec = distributed.rank_device(info, device or suite.device)
    everything = select_cases(expand(suite), shard, max_cases, suite.timing)
    mine = shard_cases(everything, info.rank + 1, info.world_size, suite.timing)
    return distributed.run_ranked(
        info, functools.partial(run_suite, suite), everything, mine, spec,
        Path(out) if out is not None else None, resume=resume, check=check, progress=progress,
        isolation=isolation, profile_dir=profile_dir,
    )


def summary_line(run: RunResult) -> str:
    """``12 ok, 2 skipped, 0 oom, 0 failed`` for a run."""
    counts = run.counts()
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def status_counts(run: RunResult) -> dict[str, Any]:
    return run.counts()
