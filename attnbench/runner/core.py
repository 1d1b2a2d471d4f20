"""Orchestration only: expand a suite, plan its groups, run each group, persist results.

The runner never prints. It reports progress through a :class:`Progress` sink (the CLI draws
a rich progress bar with it) and hands each finished case to a
:class:`~attnbench.results.journal.ResultWriter`, which journals it at once and consolidates
the result file every few seconds, so an interrupted (even killed) run loses at most the
group in flight and ``resume=True`` picks up from there, rerunning any comparison group it
left incomplete as a whole.

The unit of work is :func:`run_group`: everything that happens to one group (one case, or
one comparison group: ``runner/schedule.py``), from measuring it to recording and reporting
its results. Hooks around a group (the canary, the journal, worker processes) sit around
that call in :func:`run_suite`'s loop.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import torch

from attnbench import __version__
from attnbench.case import Case
from attnbench.devices import Device, get_device
from attnbench.devices.peaks import GpuPeak, lookup_peak
from attnbench.errors import EnvironmentUnavailable, InputError
from attnbench.measure import canary
from attnbench.measure.bench import BenchSettings, frozen_startup_heap, usable_cpus
from attnbench.measure.energy import EnergyMeter
from attnbench.measure.meters import make_meter
from attnbench.metrics.catalog import catalog_dict
from attnbench.metrics.stats import RATIO_METHOD
from attnbench.results.environment import collect_environment, git_info
from attnbench.results.journal import ResultWriter, recover
from attnbench.results.outpath import claim_out
from attnbench.results.schema import FINISHED, CaseResult, RunResult
from attnbench.results.store import load_results
from attnbench.runner import distributed
from attnbench.runner.isolate import Isolation
from attnbench.runner.schedule import pending_groups, plan_groups
from attnbench.runner.shard import shard_cases
from attnbench.runner.work import Job, run_group, worker_spec
from attnbench.suite.digest import changes
from attnbench.suite.expand import expand, filter_variants
from attnbench.suite.keyword import select_by_keyword
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
            "document": suite.document,
            "case_count": 0,
        },
        environment=collect_environment(),
        git=git_info(),
        settings={
            "device": device.describe(),
            # the flush mode in effect: cold/hot on a GPU, none on a CPU (one flush setting)
            "timing": {**asdict(settings.timing), "flush": device.flush_mode},
            "power": {**asdict(suite.power), **meter.status()},
            "check": settings.check,
            "seed": settings.seed,
            "baseline": suite.baseline,
            "ratio_method": RATIO_METHOD if settings.timing.interleave else None,
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


@contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run the block with ``threads`` torch intra-op threads (None: leave torch's choice).

    Yields the thread count in effect; the previous count is restored afterwards, so a
    library caller's process is left as it was.
    """
    previous = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise InputError(f"threads must be a positive integer, got {threads}")
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


def _cpu_settings(threads: int, requested: int | None) -> dict[str, Any]:
    """``settings.cpu``: the threads in effect, what was asked, and what the CPU allows."""
    usable = usable_cpus()
    return {
        "threads": threads,
        "threads_requested": requested,
        "interop_threads": torch.get_num_interop_threads(),
        "usable_cpus": usable,
        "oversubscribed": threads > usable,
    }


def selection_record(
    planned: int, selected: int, max_cases: int | None, keyword: Sequence[str],
    variants_only: Sequence[str] = (),
) -> dict[str, Any]:
    """``run.selection``: how many cases the suite (and shard) plans, and how many were chosen.

    ``partial`` is True when ``-k``, ``--variant`` or ``--max-cases`` left cases out (and,
    once the run ends, while the file holds fewer cases than planned, ``done``), so a reader
    never takes a slice for the whole suite.
    """
    return {
        "planned": planned,
        "selected": selected,
        "max_cases": max_cases,
        "keyword": list(keyword),
        "variants": list(variants_only),
        "partial": selected < planned,
    }


def _count_done(run: RunResult, planned: int) -> None:
    """Record how many cases the file holds; ``partial`` while that is short of the plan."""
    selection = run.run.setdefault("selection", {"planned": planned})
    selection["done"] = len(run.cases)
    selection["partial"] = len(run.cases) < int(selection.get("planned", planned))


def _resume_from(path: Path, suite: Suite) -> RunResult:
    previous = load_results(path)
    if previous.suite.get("content_hash") != suite.content_hash:
        old = previous.suite.get("document")
        if old is None:
            what = (
                "it does not record the suite's content (written by an older attnbench), so "
                "what changed cannot be shown"
            )
        else:
            what = "changed: " + "; ".join(changes(old, suite.document))
        raise InputError(
            f"--resume: {path} was written by a different suite ({what}); comments and "
            "layout do not count, values do. Use a new --out path, undo the change, or rerun "
            "without --resume"
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
    keyword: Sequence[str] = (),
    threads: int | None = None,
    variant: Sequence[str] = (),
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
        resume: keep finished cases (ok, skipped, oom) from ``out`` and run the rest; a
            comparison group with any case left is measured again whole.
        shard: (K, N) to run part K of N (1-based), cost-balanced with groups kept whole.
        max_cases: stop after this many cases (applied after ``keyword`` and ``shard``).
        check: ``reduced`` | ``full`` | ``off``; None uses the suite's.
        progress: sink for progress events.
        keyword: ``-k`` patterns over case ids (any matches; see :mod:`attnbench.suite.keyword`),
            applied before sharding and ``max_cases``.
        threads: torch intra-op threads for the run; None uses ``suite.cpu.threads``, then
            torch's default. Restored when the run ends.
        variant: run only these variants (``--variant``: full names or families).
        isolation: run each case in a spawned worker (``run --isolate``), see ``isolate``.
        profile_dir: profile every ok case into this directory (``run --profile``; see
            :mod:`attnbench.measure.profile`), after it was measured.
        cases: run exactly these cases (already selected) instead of expanding the suite;
            ``shard`` and ``max_cases`` are then ignored.

    Raises:
        EnvironmentUnavailable: the device, or required power measurement, is missing.
        InputError: a bad ``keyword`` pattern, or one that matches no case.
    """
    ranks = distributed.detect() if cases is None else None
    if ranks is not None:
        return _run_as_rank(ranks, suite, device, out=out, resume=resume, shard=shard,
                            max_cases=max_cases, check=check, progress=progress,
                            isolation=isolation, profile_dir=profile_dir, keyword=keyword,
                            threads=threads, variant=variant)
    requested = threads if threads is not None else suite.cpu.threads
    with torch_threads(requested) as in_effect:
        return _run(
            suite, device, out=out, resume=resume, shard=shard, max_cases=max_cases,
            check=check, progress=progress, keyword=keyword, threads=(in_effect, requested),
            variant=variant, isolation=isolation, profile_dir=profile_dir, cases=cases,
        )


def _run(
    suite: Suite,
    device: str | None,
    *,
    out: str | Path | None,
    resume: bool,
    shard: tuple[int, int] | None,
    max_cases: int | None,
    check: str | None,
    progress: Progress | None,
    keyword: Sequence[str],
    threads: tuple[int, int | None],
    variant: Sequence[str],
    isolation: Isolation | None,
    profile_dir: str | Path | None,
    cases: Sequence[Case] | None,
) -> RunResult:
    sink = progress or NullProgress()
    if cases is None:
        planned = len(select_cases(expand(suite), shard, None, suite.timing))
        narrowed = expand(filter_variants(suite, variant))
        matching = select_by_keyword(narrowed, keyword, lambda c: c.case_id)
        cases = select_cases(matching, shard, max_cases, suite.timing)
    else:  # a torchrun rank's share, selected by the caller
        cases = list(cases)
        planned = len(cases)
    dev = get_device(device or suite.device, flush=suite.timing.flush,
                     cuda_graph=suite.timing.cuda_graph)
    meter = make_meter(dev, suite.power)
    if suite.power.enabled == "on" and not meter.available:
        raise EnvironmentUnavailable(f"power.enabled is 'on' but {meter.status()['reason']}")
    settings = BenchSettings(
        suite.timing, check or suite.check, suite.seed, _peak(dev), threads=threads[0]
    )
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
    run.settings["cpu"] = _cpu_settings(*threads)
    run.suite["case_count"] = len(cases)
    run.run["selection"] = selection_record(planned, len(cases), max_cases, keyword, variant)
    if suite.timing.cuda_graph and dev.kind != "cuda":
        run.run["warnings"] = [
            "CUDA_GRAPH_UNAVAILABLE: timing.cuda_graph applies to CUDA devices only; "
            f"samples on {dev.name} are plain calls"
        ]
    run.run["shard"] = f"{shard[0]}/{shard[1]}" if shard else None
    done = {c.case_id for c in run.cases if c.status in FINISHED}
    todo = pending_groups(plan_groups(cases, suite.timing.interleave), done)
    sink.started(len(cases), len(cases) - sum(len(g.cases) for g in todo))
    writer = ResultWriter(run, out_path)
    job = Job(dev, settings, meter, suite.baseline, writer, out_path, sink,
              worker_spec(dev, settings, suite, isolation),
              Path(profile_dir) if profile_dir is not None else None)
    writer.start()
    try:
        with frozen_startup_heap():
            for i, group in enumerate(todo):
                canary.tick(run, dev, i, len(todo))
                if i and suite.power.cooldown_s > 0:
                    _cooldown(suite.power.cooldown_s)
                run_group(job, group)
            canary.finish(run, dev)
        run.run["completed"] = True
        run.run["finished_utc"] = _utc_now()
    finally:
        meter.close()
        _count_done(run, planned)
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
    keyword: Sequence[str],
    threads: int | None,
    variant: Sequence[str],
) -> RunResult:
    """This torchrun rank's share of the selected (``--variant``, ``-k``, sharded, capped)
    cases; see :mod:`.distributed`."""
    spec = distributed.rank_device(info, device or suite.device)
    narrowed = expand(filter_variants(suite, variant))
    matching = select_by_keyword(narrowed, keyword, lambda c: c.case_id)
    everything = select_cases(matching, shard, max_cases, suite.timing)
    mine = shard_cases(everything, info.rank + 1, info.world_size, suite.timing)
    return distributed.run_ranked(
        info, functools.partial(run_suite, suite), everything, mine, spec,
        Path(out) if out is not None else None, resume=resume, check=check, progress=progress,
        isolation=isolation, profile_dir=profile_dir, threads=threads,
    )


def summary_line(run: RunResult) -> str:
    """``12 ok, 2 skipped, 0 oom, 0 failed`` for a run."""
    counts = run.counts()
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def status_counts(run: RunResult) -> dict[str, Any]:
    return run.counts()
