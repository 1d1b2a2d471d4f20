"""The memory guard: skip a case whose analytic footprint exceeds the free memory.

Before a case runs, its estimate — the q, k and v inputs plus the variant's forward working
memory (``Variant.memory_bytes``, the same model as the ``memory/estimate_bytes`` metric) — is
compared with the memory free on its device: ``torch.cuda.mem_get_info`` plus what the caching
allocator holds unused on a GPU, psutil's *available* memory on the CPU. A case that cannot
fit is recorded as ``skipped`` with both numbers in the reason instead of being allowed to
drive the machine into swap or the out-of-memory killer. The estimate is a forward lower
bound (backward needs more), so a case the guard lets through can still end ``oom``.
"""

from __future__ import annotations

from collections.abc import Callable

import psutil
import torch

from attnbench.case import Case
from attnbench.devices.base import Device
from attnbench.measure.bench import _skeleton
from attnbench.results.schema import STATUS_SKIPPED, CaseResult
from attnbench.variants.base import Variant, element_size

FreeMemory = Callable[[Device], int | None]


def estimate_bytes(variant: Variant, case: Case) -> int:
    """Inputs (q, k, v) plus the forward working memory of ``variant`` for ``case``, bytes."""
    per_row = case.head_dim * 2 + case.dv
    inputs = element_size(case.dtype) * case.batch * case.heads * case.seq_len * per_row
    return inputs + int(variant.memory_bytes(case))


def free_bytes(device: Device) -> int | None:
    """Memory a new case can use on ``device``, bytes (None when it cannot be told)."""
    if device.kind == "cuda":
        index = device.torch_device.index or 0
        free, _total = torch.cuda.mem_get_info(index)
        cached = torch.cuda.memory_reserved(index) - torch.cuda.memory_allocated(index)
        return int(free + max(cached, 0))
    try:
        return int(psutil.virtual_memory().available)
    except (OSError, RuntimeError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**28 else f"{n / 2**20:.1f} MiB"


def guard_reason(
    variant: Variant, case: Case, device: Device, free: FreeMemory = free_bytes
) -> str | None:
    """Why ``case`` must not run here (the estimate exceeds free memory), or None."""
    need = estimate_bytes(variant, case)
    have = free(device)
    if have is None or need <= have:
        return None
    where = "host memory available" if device.kind == "cpu" else f"free on {device.name}"
    return (
        f"memory guard: estimated {_gib(need)} ({need:,} bytes: inputs + "
        f"{variant.info.memory_complexity} working memory) exceeds {_gib(have)} ({have:,} "
        f"bytes) {where}"
    )


def guarded_skip(
    variant: Variant, case: Case, device: Device, free: FreeMemory = free_bytes
) -> CaseResult | None:
    """A ``skipped`` result for a case that cannot fit, or None when it may run."""
    reason = guard_reason(variant, case, device, free)
    if reason is None:
        return None
    result = _skeleton(variant, case)
    result.status, result.reason = STATUS_SKIPPED, reason
    result.warnings.append("MEMORY_GUARD")
    return result
