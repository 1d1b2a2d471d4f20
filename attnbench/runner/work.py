"""The unit of work of a run: one group (one case, or one comparison group), measured,
journaled and reported.

``run_suite``'s loop (:mod:`attnbench.runner.core`) calls :func:`run_group` once per group;
everything that happens to a group lives here: the memory guard, in-process or ``--isolate``
measurement (a whole comparison group in one spawned worker, with the member in flight
reported so that a crash is charged to it), profiling and recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from attnbench import variants
from attnbench.case import Case
from attnbench.devices import Device
from attnbench.measure.bench import BenchSettings, measure_case
from attnbench.measure.energy import EnergyMeter
from attnbench.measure.group import measure_group
from attnbench.measure.profile import attach_profile
from attnbench.results.journal import ResultWriter
from attnbench.results.schema import CaseResult
from attnbench.runner.guard import guarded_skip
from attnbench.runner.isolate import Isolation, WorkerContext, WorkerSpec, run_isolated
from attnbench.runner.schedule import Group
from attnbench.suite.schema import Suite

if TYPE_CHECKING:
    from attnbench.runner.core import Progress


@dataclass(frozen=True)
class Job:
    """What every group of a run is measured with, and where its results go."""

    device: Device
    settings: BenchSettings
    meter: EnergyMeter
    baseline: str | None
    writer: ResultWriter
    out: Path | None
    sink: Progress
    isolation: WorkerSpec | None = None
    profile_dir: Path | None = None


def worker_spec(
    dev: Device, settings: BenchSettings, suite: Suite, isolation: Isolation | None
) -> WorkerSpec | None:
    """How ``--isolate`` workers rebuild this run's context (None: measure in-process)."""
    if isolation is None:
        return None
    return WorkerSpec(
        device=dev.name,
        flush=settings.timing.flush,
        cuda_graph=settings.timing.cuda_graph,
        settings=settings,
        power=suite.power,
        plugins=isolation.plugins,
        case_timeout_s=isolation.case_timeout_s,
        job=GROUP_JOB if suite.timing.interleave else EACH_JOB,
        baseline=suite.baseline,
    )


GROUP_JOB = "attnbench.runner.work:measure_group_job"
EACH_JOB = "attnbench.runner.isolate:measure_each"


def measure_group_job(cases: Sequence[Case], ctx: WorkerContext) -> None:
    """``--isolate`` job function for a comparison group, run inside the worker.

    The member being prepared, sampled or finished is reported before each step, so a crash
    in the rotation is charged to the member that was running.
    """
    pairs = [(variants.get(c.variant), c) for c in cases]
    baseline = ctx.extra.get("baseline")
    results = measure_group(pairs, ctx.device, ctx.settings, ctx.meter, cases[0].group_key,
                            baseline if isinstance(baseline, str) else None,
                            on_member=ctx.started)
    for result in results:
        ctx.finished(result)


def measure_cases(job: Job, group: Group) -> list[CaseResult]:
    """Measure ``group``: in rotation when it is interleaved, else its one case alone.

    Members that cannot fit in free memory are skipped first (the memory guard); under
    ``--isolate`` the rest run in spawned workers.
    """
    guarded = {c.case_id: guarded_skip(variants.get(c.variant), c, job.device)
               for c in group.cases}
    runnable = [c for c in group.cases if guarded[c.case_id] is None]
    measured: dict[str, CaseResult] = {}
    if runnable and job.isolation is not None:
        measured = {r.case_id: r for r in run_isolated(runnable, job.isolation)}
    elif runnable and group.interleaved:
        pairs = [(variants.get(c.variant), c) for c in runnable]
        results = measure_group(pairs, job.device, job.settings, job.meter, group.key,
                                job.baseline)
        measured = {r.case_id: r for r in results}
    else:
        measured = {c.case_id: measure_case(variants.get(c.variant), c, job.device,
                                            job.settings, job.meter) for c in runnable}
    out = []
    for c in group.cases:
        result = guarded[c.case_id] or measured[c.case_id]
        if job.profile_dir is not None:
            base = job.out.parent if job.out is not None else job.profile_dir.parent
            attach_profile(result, variants.get(c.variant), c, job.device, job.settings.seed,
                           job.profile_dir, base)
        out.append(result)
    return out


def run_group(job: Job, group: Group) -> list[CaseResult]:
    """The unit of work: measure one group, journal its results, report them."""
    for case in group.cases:
        job.sink.case_started(case)
    results = measure_cases(job, group)
    for result in results:
        job.writer.record(result)
    for result in results:
        job.sink.case_finished(result)
    return results
