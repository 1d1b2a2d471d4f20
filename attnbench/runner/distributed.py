"""Runs under torchrun: one rank per device, each a cost-balanced share, one merged file.

``torchrun --nproc-per-node K -m attnbench run SUITE --out FILE`` starts K processes with
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` set. Each rank

1. takes ``cuda:LOCAL_RANK`` (or the CPU; ranks never share a GPU: a ``LOCAL_RANK`` beyond
   the visible GPUs, or an explicit ``--device cuda:N``, is refused);
2. joins the process group (NCCL on GPUs, gloo on the CPU; results travel over a gloo group);
3. runs its part of the cases (:func:`attnbench.runner.shard.partition` — deterministic, so no
   rank needs to be told its share) into its own part file ``<out stem>.rank<R>of<W><suffix>``,
   journaled as any run is, so a rank killed outright loses at most its case in flight;
4. gathers: rank 0 receives every rank's run (``gather_object``) and writes ``FILE`` with
   every case and every rank's environment under ``run["parts"]``.

When a rank dies, torchrun stops the others (SIGTERM), which attnbench turns into an orderly
stop: each rank consolidates its part file, and rank 0 — failing the gather, or interrupted
itself — merges what is on disk (its own run and the part files it can read, journals
folded) and lists the cases nobody recorded in ``run["lost_cases"]``. The part files stay
until a complete merge; ``--resume`` with the same command runs only what is missing. Ranks
on other nodes are read from disk only where ``--out`` is on a shared file system; otherwise
their part files can be joined later with ``attnbench merge``.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import torch

from attnbench.case import Case
from attnbench.errors import AttnbenchError, EnvironmentUnavailable, InputError
from attnbench.results.merge import MergePart, part_record
from attnbench.results.schema import FINISHED, SCHEMA_VERSION, RunResult
from attnbench.results.store import load_results, save_results

TIMEOUT_ENV = "ATTNBENCH_RANK_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 12 * 3600.0
"""How long rank 0 waits in the gather for slower ranks, seconds (``ATTNBENCH_RANK_TIMEOUT_S``)."""


@dataclass(frozen=True)
class RankInfo:
    """This process's place in a torchrun job."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_root(self) -> bool:
        return self.rank == 0


def detect(environ: Mapping[str, str] | None = None) -> RankInfo | None:
    """The torchrun rank from ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``; None outside torchrun
    or for a world of one.

    Raises:
        InputError: the variables are present but not integers, or inconsistent.
    """
    env = os.environ if environ is None else environ
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return None
    try:
        rank, world = int(env["RANK"]), int(env["WORLD_SIZE"])
        local = int(env.get("LOCAL_RANK", env["RANK"]))
    except ValueError:
        raise InputError(
            f"torchrun variables are not integers: RANK={env.get('RANK')!r} "
            f"WORLD_SIZE={env.get('WORLD_SIZE')!r} LOCAL_RANK={env.get('LOCAL_RANK')!r}"
        ) from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise InputError(f"torchrun variables are inconsistent: RANK={rank} WORLD_SIZE={world}")
    if world == 1:
        return None
    return RankInfo(rank, world, local)


def is_root_process(environ: Mapping[str, str] | None = None) -> bool:
    """True outside torchrun and on rank 0 (the process that writes ``--out``)."""
    info = detect(environ)
    return info is None or info.is_root


def rank_device(info: RankInfo, requested: str, cuda_count: int | None = None) -> str:
    """The device spec of this rank: ``cpu`` or ``cuda:LOCAL_RANK``.

    Raises:
        InputError: ``cuda:N`` was asked for (every rank would use GPU N).
        EnvironmentUnavailable: ``LOCAL_RANK`` is beyond the GPUs this node shows.
    """
    spec = requested.strip()
    if spec.startswith("cuda:"):
        raise InputError(
            f"--device {spec} under torchrun would put every rank on one GPU; use --device "
            "cuda (or auto): each rank then takes cuda:LOCAL_RANK"
        )
    count = torch.cuda.device_count() if cuda_count is None else cuda_count
    if spec == "cpu" or (spec == "auto" and count == 0):
        return "cpu"
    if spec not in ("auto", "cuda"):
        raise InputError(f"unknown device {spec!r}: expected auto, cpu or cuda under torchrun")
    if info.local_rank >= count:
        raise EnvironmentUnavailable(
            f"rank {info.rank} has LOCAL_RANK {info.local_rank} but this node shows {count} "
            f"GPU(s); ranks never share a GPU: start at most {count} process(es) per node "
            f"(torchrun --nproc-per-node {count}) or check CUDA_VISIBLE_DEVICES"
        )
    return f"cuda:{info.local_rank}"


def part_path(out: Path, info: RankInfo) -> Path:
    """Rank ``R``'s own result file beside ``out``: ``<stem>.rank<R>of<W><suffix>``."""
    return out.with_name(f"{out.stem}.rank{info.rank}of{info.world_size}{out.suffix}")


def _timeout() -> dt.timedelta:
    text = os.environ.get(TIMEOUT_ENV)
    try:
        seconds = float(text) if text else DEFAULT_TIMEOUT_S
    except ValueError:
        raise InputError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds") from None
    return dt.timedelta(seconds=seconds)


class Group:
    """The process group, and a gloo group for the results (objects travel on the CPU)."""

    def __init__(self, info: RankInfo, device: str) -> None:
        import torch.distributed as dist

        if not dist.is_available():
            raise EnvironmentUnavailable("this torch build has no torch.distributed")
        self.dist = dist
        timeout = _timeout()
        if device.startswith("cuda"):
            torch.cuda.set_device(int(device.split(":")[1]))
            dist.init_process_group("nccl", timeout=timeout)
            self.objects = dist.new_group(backend="gloo", timeout=timeout)
        else:
            dist.init_process_group("gloo", timeout=timeout)
            self.objects = dist.group.WORLD

    def gather(self, info: RankInfo, payload: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Every rank's payload on rank 0 (in rank order), None elsewhere."""
        box: list[Any] | None = [None] * info.world_size if info.is_root else None
        self.dist.gather_object(payload, box, dst=0, group=self.objects)
        return box

    def close(self) -> None:
        if self.dist.is_initialized():
            self.dist.destroy_process_group()


@contextmanager
def sigterm_as_interrupt() -> Iterator[list[bool]]:
    """While active, SIGTERM (torchrun stopping the ranks) raises KeyboardInterrupt, so the
    run loop's ``finally`` consolidates the part file. Yields a flag list: setting
    ``flag[0] = True`` switches to recording the signal only (``flag[1]``), for the short
    final write that must not be cut short."""
    state = [False, False]

    def handler(signum: int, frame: FrameType | None) -> None:
        state[1] = True
        if not state[0]:
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield state
        return
    try:
        yield state
    finally:
        signal.signal(signal.SIGTERM, previous)


RunFn = Callable[..., RunResult]


def run_ranked(
    info: RankInfo,
    run_fn: RunFn,
    everything: list[Case],
    mine: list[Case],
    device: str,
    out: Path | None,
    *,
    resume: bool,
    **kwargs: Any,
) -> RunResult:
    """This rank's share via ``run_fn`` (``run_suite``), then the gather and rank 0's file.

    ``everything`` are all the cases of the job (for the lost-case list); ``mine`` this rank's.
    Rank 0 returns the merged run; the other ranks their own.
    """
    if out is None:
        raise InputError("under torchrun, --out is required (rank 0 writes the merged file)")
    part = part_path(out, info)
    previous = _previous(out, resume)
    done = {c.case_id for c in previous.cases if c.status in FINISHED} if previous else set()
    group = Group(info, device)
    interrupted = False
    with sigterm_as_interrupt() as state:
        try:
            run = run_fn(device=device, out=part, resume=resume,
                         cases=[c for c in mine if c.case_id not in done], **kwargs)
        except KeyboardInterrupt:
            if not part.is_file():
                group.close()
                raise
            interrupted = True
            run = load_results(part)
        state[0] = True  # from here on a SIGTERM is noted, not raised
        run.run.update(rank=info.rank, world_size=info.world_size, local_rank=info.local_rank)
        save_results(run, part)
        gathered = None if interrupted else _try_gather(group, info, run)
        if info.is_root:
            merged = _merge_on_root(info, out, run, gathered, previous, everything)
            save_results(merged, out)
            if not merged.run.get("lost_cases") and gathered is not None:
                _remove_parts(out, info)
            run = merged
        group.close()
        interrupted = interrupted or state[1]
    if interrupted:
        raise KeyboardInterrupt
    return run


def _previous(out: Path, resume: bool) -> RunResult | None:
    if not resume or not out.is_file():
        return None
    return load_results(out)


def _try_gather(group: Group, info: RankInfo, run: RunResult) -> list[RunResult] | None:
    """Every rank's run on rank 0; None when a rank is gone (the gather raised)."""
    try:
        box = group.gather(info, run.to_dict())
    except (RuntimeError, ValueError, OSError):
        return None
    if box is None:
        return None
    return [RunResult.from_dict(d) for d in box]


def _from_disk(out: Path, info: RankInfo, own: RunResult) -> list[RunResult | None]:
    """Each rank's run as its part file (journal folded) shows it; None where unreadable."""
    runs: list[RunResult | None] = []
    for rank in range(info.world_size):
        if rank == info.rank:
            runs.append(own)
            continue
        path = part_path(out, RankInfo(rank, info.world_size, 0))
        try:
            runs.append(load_results(path))
        except AttnbenchError:
            runs.append(None)
    return runs


def _merge_on_root(
    info: RankInfo,
    out: Path,
    own: RunResult,
    gathered: list[RunResult] | None,
    previous: RunResult | None,
    everything: list[Case],
) -> RunResult:
    runs: list[RunResult | None] = list(gathered) if gathered else _from_disk(out, info, own)
    merged = RunResult.from_dict(own.to_dict())
    merged.cases = list(previous.cases) if previous else []
    records: list[dict[str, Any]] = []
    missing_ranks = []
    for rank, run in enumerate(runs):
        if run is None:
            missing_ranks.append(rank)
            continue
        for case in run.cases:
            merged.upsert(case)
        where = part_path(out, RankInfo(rank, info.world_size, 0))
        source = f"rank {rank}" if gathered else str(where)
        records += [{**rec, "rank": rank}
                    for rec in part_record(MergePart(source, run, SCHEMA_VERSION))]
    recorded = {c.case_id for c in merged.cases}
    lost = [c.case_id for c in everything if c.case_id not in recorded]
    merged.suite["case_count"] = len(everything)
    for key in ("rank", "local_rank", "journal"):
        merged.run.pop(key, None)
    merged.run.update(
        world_size=info.world_size,
        parts=records,
        gathered="torch.distributed" if gathered else "part files",
        completed=not lost and all(r is not None and r.run.get("completed") for r in runs),
    )
    if lost:
        merged.run["lost_cases"] = lost
    if missing_ranks:
        merged.run.setdefault("warnings", []).append(
            f"RANK_LOST: no results from rank(s) {missing_ranks}"
        )
    return merged


def _remove_parts(out: Path, info: RankInfo) -> None:
    for rank in range(info.world_size):
        path = part_path(out, RankInfo(rank, info.world_size, 0))
        if path.is_file():
            path.unlink()
