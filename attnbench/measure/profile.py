"""``run --profile``: a torch.profiler trace and a top-operators table per case.

Profiling runs after a case has been measured, on its own inputs, so it never touches the
timed samples, the memory window or the energy window. For each ``ok`` case the profiler
records :data:`PROFILE_CALLS` calls (after one untimed warm-up call) and writes, into the
profile directory beside the result file (``<out stem>.profiles/``):

* ``<case id>.trace.json``: a Chrome trace (open it in https://ui.perfetto.dev or
  ``chrome://tracing``);
* ``<case id>.ops.txt``: torch's operator table, sorted by self time.

The case in the result JSON gets a ``profile`` entry: both paths (relative to the result
file's directory), the call count, and the top operators with their self and total times in
milliseconds per profiled call window. A profiling failure never fails the case: it is
recorded as ``profile.error`` with the warning ``PROFILE_FAILED``.

The directory is attnbench's own (it carries a marker file). A directory of that name that is
not ours and is not empty, or a file there, is refused before anything runs. Without
``--resume``, an earlier run's profile directory is kept aside as ``<name>.prev``, the way
the result file itself is.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from torch.profiler import ProfilerActivity, profile, record_function

from attnbench.case import Case
from attnbench.devices.base import Device
from attnbench.errors import InputError
from attnbench.measure.bench import make_call
from attnbench.results.schema import STATUS_OK, CaseResult
from attnbench.variants.base import Variant

PROFILE_CALLS = 3
"""Calls recorded per case (after one untimed warm-up call)."""
TOP_OPS = 10
"""Operators kept in the result JSON (the ``.ops.txt`` table has more)."""
MARKER = ".attnbench-profiles"
"""File that marks a profile directory as attnbench's own."""
PROFILE_FAILED = "PROFILE_FAILED"


def profile_dir_for(out: Path) -> Path:
    """``results/run.json`` → ``results/run.profiles``."""
    return out.with_name(out.stem + ".profiles")


def _is_ours(directory: Path) -> bool:
    return directory.is_dir() and not directory.is_symlink() and (directory / MARKER).is_file()


def prepare_profile_dir(directory: Path, resume: bool) -> Path | None:
    """Make ``directory`` ready; returns where an earlier one was moved aside, if it was.

    Raises:
        InputError: the path is a file, a symlink, or a directory attnbench did not create
            that is not empty (exit 2).
    """
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise InputError(f"--profile: {directory} exists and is not a directory; move it away")
    moved = None
    if directory.exists():
        if not _is_ours(directory) and any(directory.iterdir()):
            raise InputError(
                f"--profile: {directory} exists, is not empty and was not written by attnbench; "
                "move it away or choose another --out"
            )
        if _is_ours(directory) and not resume:
            moved = directory.with_name(directory.name + ".prev")
            if moved.exists() or moved.is_symlink():
                if not _is_ours(moved):
                    raise InputError(f"--profile: {moved} is in the way and is not attnbench's")
                shutil.rmtree(moved)
            os.replace(directory, moved)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("profile traces written by attnbench run --profile\n")
    return moved


def trace_stem(case_id: str) -> str:
    """A file-name-safe form of ``case_id``: ``/`` becomes ``__``, other odd characters ``_``."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", case_id.replace("/", "__"))


def _ms(event: Any, *names: str) -> float:
    """The first of ``names`` that ``event`` has, microseconds → milliseconds."""
    for name in names:
        value = getattr(event, name, None)
        if isinstance(value, (int, float)):
            return round(float(value) / 1e3, 6)
    return 0.0


def top_operators(events: Any, on_gpu: bool, limit: int = TOP_OPS) -> list[dict[str, Any]]:
    """The ``limit`` operators with the most self time (device time on a GPU, else CPU)."""
    self_keys = ("self_device_time_total", "self_cuda_time_total") if on_gpu else ()
    rows: list[dict[str, Any]] = []
    for e in events:
        rows.append({
            "name": str(e.key),
            "calls": int(e.count),
            "self_ms": _ms(e, *self_keys, "self_cpu_time_total"),
            "total_ms": _ms(e, *(("device_time_total", "cuda_time_total") if on_gpu else ()),
                            "cpu_time_total"),
        })
    rows.sort(key=lambda r: -float(r["self_ms"]))
    return rows[:limit]


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    mask = os.umask(0)
    os.umask(mask)
    os.fchmod(fd, 0o666 & ~mask)  # as readable as any file the user writes, not mkstemp's 0600
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def profile_case(
    variant: Variant, case: Case, device: Device, directory: Path, seed: int, base: Path
) -> dict[str, Any]:
    """Profile ``case`` and write its trace and table into ``directory``; returns the
    ``profile`` entry of the case (paths relative to ``base``)."""
    on_gpu = device.kind == "cuda"
    activities = [ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if on_gpu else [])]
    with variant.call_context(case):
        inputs = variant.make_inputs(case, device.torch_device, seed)
        variant.setup(inputs, case)
        call = make_call(variant, inputs, case)
        call()
        device.synchronize()
        with profile(activities=activities, record_shapes=True) as prof:
            for _ in range(PROFILE_CALLS):
                with record_function("attnbench.call"):
                    call()
            device.synchronize()
    stem = trace_stem(case.case_id)
    trace, table = directory / f"{stem}.trace.json", directory / f"{stem}.ops.txt"
    _atomic_write(trace, prof.export_chrome_trace)
    sort_by = "self_cuda_time_total" if on_gpu else "self_cpu_time_total"
    text = prof.key_averages().table(sort_by=sort_by, row_limit=25)
    _atomic_write(table, lambda p: Path(p).write_text(text + "\n", encoding="utf-8"))
    return {
        "trace": os.path.relpath(trace, base),
        "table": os.path.relpath(table, base),
        "calls": PROFILE_CALLS,
        "sort_by": sort_by,
        "top_ops": top_operators(prof.key_averages(), on_gpu),
    }


def attach_profile(
    result: CaseResult, variant: Variant, case: Case, device: Device, seed: int,
    directory: Path, base: Path,
) -> None:
    """Profile an ``ok`` case into ``result.profile``; a failure is recorded, not raised."""
    if result.status != STATUS_OK:
        return
    try:
        result.profile = profile_case(variant, case, device, directory, seed, base)
    except (RuntimeError, OSError, ValueError) as exc:
        result.profile = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
        result.warnings.append(PROFILE_FAILED)
    finally:
        device.empty_cache()
