"""``run --isolate``: each job (one case, or one comparison group) in a spawned worker.

A job is a list of cases measured together by one *job function* inside a fresh worker
process, started with the ``spawn`` method (never ``fork``: a forked child of a process that
has initialised CUDA is unusable). The worker imports the ``--plugin`` modules and the
entry-point plugins itself, builds the device and the energy meter, and streams messages to
the parent through a pipe:

* ``("started", case_id)`` when it begins a case (a group's job function sends one per member
  as it builds, checks and warms that member);
* ``("result", CaseResult dict)`` when a case is done;
* ``("error", text)`` when the worker itself cannot work (a plugin fails to import, the
  device is missing): every unfinished case of the job fails with that text.

The parent waits for the next message at most ``case_timeout_s`` after the last
``started`` (and :data:`STARTUP_TIMEOUT_S` for the worker to come up). What goes wrong costs
only the case in flight:

* the worker dies of a signal → that case is ``failed``, the reason names the signal
  (``SIGSEGV``, ``SIGABRT``, ...); killed by ``SIGKILL`` that the parent did not send (the
  kernel's out-of-memory killer) → ``oom``;
* no message within the timeout → the worker is killed and the case is ``failed`` with
  ``timed out after S s``;
* the job's cases that had not finished, except the one in flight, are run again in a new
  worker (so under a group, the rest of the group is measured again without its crashing
  member).

The job function is named by ``"module:function"`` so that it can be imported in the worker;
it is called as ``fn(cases, ctx)`` and reports through ``ctx.started(case)`` and
``ctx.finished(result)`` (:func:`measure_each` is the one for single cases).
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing as mp
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from attnbench import variants
from attnbench.case import Case
from attnbench.devices import Device, get_device
from attnbench.measure.bench import BenchSettings, measure_case, skeleton
from attnbench.measure.energy import EnergyMeter
from attnbench.results.schema import STATUS_FAILED, STATUS_OOM, CaseResult
from attnbench.suite.schema import PowerSettings

STARTUP_TIMEOUT_S = 300.0
"""Longest wait for a worker to import torch and the plugins and report its first case."""
EACH = "attnbench.runner.isolate:measure_each"


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to rebuild the run's measuring context (picklable).

    Attributes:
        device: the resolved device name (``cpu``, ``cuda:0``).
        flush: GPU cache mode (``cold`` | ``hot``).
        cuda_graph: replay calls from a CUDA graph.
        settings: timing, check mode, seed and peak entry, as in the parent.
        power: the suite's power settings (each worker opens its own meter).
        plugins: ``--plugin`` modules to import in the worker.
        case_timeout_s: longest a case may go without finishing, seconds; None: no limit.
        job: ``"module:function"`` that measures a job's cases in the worker.
        baseline: the suite's ``baseline`` variant, for a group's job function (``extra``).
    """

    device: str
    flush: str
    cuda_graph: bool
    settings: BenchSettings
    power: PowerSettings
    plugins: tuple[str, ...] = ()
    case_timeout_s: float | None = None
    job: str = EACH
    baseline: str | None = None


@dataclass
class WorkerContext:
    """What a job function gets in the worker: the device, meter, settings and two reporters."""

    device: Device
    meter: EnergyMeter
    settings: BenchSettings
    started: Callable[[Case], None]
    finished: Callable[[CaseResult], None]
    extra: dict[str, Any] = field(default_factory=dict)


def measure_each(cases: Sequence[Case], ctx: WorkerContext) -> None:
    """Job function for independent cases: measure them one after the other."""
    for case in cases:
        ctx.started(case)
        result = measure_case(variants.get(case.variant), case, ctx.device, ctx.settings,
                              ctx.meter)  # fmt: skip
        ctx.finished(result)


def _import_job(name: str) -> Callable[[Sequence[Case], WorkerContext], None]:
    module, _, attr = name.partition(":")
    fn: Callable[[Sequence[Case], WorkerContext], None] = getattr(
        importlib.import_module(module), attr
    )
    return fn


def _worker_main(conn: Connection, spec: WorkerSpec, cases: list[Case]) -> None:
    """Entry point of a spawned worker (module level so that spawn can import it)."""
    try:
        from attnbench.measure.meters import make_meter

        for module in spec.plugins:
            variants.load_module(module)
        variants.names()  # loads the built-in families and the entry-point plugins
        if spec.settings.threads is not None:
            import torch

            torch.set_num_threads(spec.settings.threads)  # the parent's --threads
        dev = get_device(spec.device, flush=spec.flush, cuda_graph=spec.cuda_graph)
        meter = make_meter(dev, spec.power)
        job = _import_job(spec.job)
    except BaseException as exc:  # report anything: the parent turns it into statuses
        conn.send(("error", f"the isolated worker could not start: {type(exc).__name__}: {exc}"))
        conn.close()
        return
    ctx = WorkerContext(
        dev,
        meter,
        spec.settings,
        started=lambda case: conn.send(("started", case.case_id)),
        finished=lambda result: conn.send(("result", result.to_dict())),
        extra={"baseline": spec.baseline},
    )
    try:
        job(cases, ctx)
    except (BrokenPipeError, EOFError):
        pass  # the parent is gone (interrupted): nobody to report to
    except BaseException:
        with contextlib.suppress(OSError):
            conn.send(("error", "job function raised:\n" + traceback.format_exc(limit=8)))
    finally:
        meter.close()
        conn.close()


def signal_name(number: int) -> str:
    """``11`` → ``SIGSEGV``; unknown numbers as ``signal N``."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass
class _Outcome:
    results: dict[str, CaseResult]
    lost: str | None  # the case in flight when the worker was lost
    status: str = STATUS_FAILED
    reason: str = ""
    fatal: str | None = None  # the worker could not work at all


def _death(exitcode: int | None, killed_by_us: bool, timeout_s: float | None) -> tuple[str, str]:
    if killed_by_us:
        return STATUS_FAILED, f"timed out after {timeout_s:g} s (the isolated worker was killed)"
    if exitcode is not None and exitcode < 0:
        sig = -exitcode
        name = signal_name(sig)
        if sig == signal.SIGKILL:
            return STATUS_OOM, (
                f"the isolated worker was killed by {name} (signal {sig}), most likely by the "
                "kernel's out-of-memory killer"
            )
        return STATUS_FAILED, f"the isolated worker died of {name} (signal {sig}) in this case"
    return STATUS_FAILED, f"the isolated worker exited with code {exitcode} in this case"


def _run_worker(cases: list[Case], spec: WorkerSpec) -> _Outcome:
    ctx = mp.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker_main, args=(sender, spec, cases), daemon=True)
    proc.start()
    sender.close()
    out = _Outcome(results={}, lost=None)
    current: str | None = None
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    killed = False
    try:
        while True:
            wait = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
            if not receiver.poll(wait):
                proc.kill()
                killed = True
                break
            try:
                kind, payload = receiver.recv()
            except (EOFError, OSError):
                break
            if kind == "started":
                current = str(payload)
                if spec.case_timeout_s is not None:
                    deadline = time.monotonic() + spec.case_timeout_s
                else:
                    deadline = float("inf")
            elif kind == "result":
                result = CaseResult.from_dict(payload)
                out.results[result.case_id] = result
                current = None
            elif kind == "error":
                out.fatal = str(payload)
    finally:
        receiver.close()
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join()
    if current is None and killed:
        out.fatal = f"the isolated worker did not start within {STARTUP_TIMEOUT_S:g} s"
    unfinished = [c.case_id for c in cases if c.case_id not in out.results]
    if out.fatal is None and unfinished and (killed or proc.exitcode != 0):
        out.lost = current or unfinished[0]
        out.status, out.reason = _death(proc.exitcode, killed, spec.case_timeout_s)
        if current is None:
            out.reason += " (before the case started: while the worker was starting)"
    elif out.fatal is None and unfinished:
        out.fatal = "the isolated worker exited without a result for this case"
    return out


def _lost_result(case: Case, status: str, reason: str) -> CaseResult:
    result = skeleton(variants.get(case.variant), case)
    result.status, result.reason = status, reason
    return result


def run_isolated(cases: Sequence[Case], spec: WorkerSpec) -> list[CaseResult]:
    """Measure ``cases`` as one job in spawned workers; one result per case, in order.

    A case whose worker crashed, hung or was killed gets a ``failed`` (or ``oom``) result
    naming what happened, and the job's other unfinished cases are run again without it in a
    fresh worker, as often as needed.
    """
    done: dict[str, CaseResult] = {}
    pending = list(cases)
    while pending:
        outcome = _run_worker(pending, spec)
        done.update(outcome.results)
        if outcome.fatal is not None:
            for case in pending:
                if case.case_id not in done:
                    done[case.case_id] = _lost_result(case, STATUS_FAILED, outcome.fatal)
            break
        if outcome.lost is not None:
            lost = next(c for c in pending if c.case_id == outcome.lost)
            done[lost.case_id] = _lost_result(lost, outcome.status, outcome.reason)
        pending = [c for c in pending if c.case_id not in done]
    return [done[c.case_id] for c in cases]


@dataclass(frozen=True)
class Isolation:
    """``run --isolate`` options: the per-case timeout (seconds) and the plugin modules."""

    case_timeout_s: float | None = None
    plugins: tuple[str, ...] = ()
