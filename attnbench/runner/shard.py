"""Cost-balanced, deterministic sharding of a suite's cases into parts.

``--shard K/N`` and torchrun ranks both take one part. The assignment

* keeps comparison groups whole: cases with equal :attr:`Case.group_key` always land in the
  same part (they are measured together, interleaved);
* balances the parts by *estimated cost*, not by case count: a 32K-token case costs far more
  than a 1K one. The estimate (:func:`case_cost_s`) comes from the variant's analytic FLOP and
  memory models and the suite's timing settings;
* is deterministic: the same suite gives the same parts on every machine, with no
  communication (it depends on the cases alone, never on the host).

Algorithm: longest-processing-time first. Groups are sorted by estimated cost (descending,
ties by key) and each goes to the part with the least cost so far (ties: the lowest part).
The most and the least loaded parts then differ by at most the cost of one group, the largest
at worst. Within a part the cases keep the suite's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from attnbench import variants
from attnbench.case import Case
from attnbench.errors import AttnbenchError
from attnbench.suite.schema import TimingSettings

MODEL_FLOP_RATE = 1e11
"""FLOP/s the cost model assumes (a deliberately rough, device-independent figure)."""
MODEL_BYTE_RATE = 2e10
"""Bytes/s of working memory touched that the cost model assumes."""
CASE_FIXED_S = 0.05
"""Per-case harness cost the model assumes (inputs, memory and energy windows), seconds."""
EXTRA_CALLS = 3
"""Untimed calls per case besides warm-up and samples (setup, memory window, energy)."""


@dataclass(frozen=True)
class Part:
    """One shard: its cases in suite order and their estimated cost (seconds)."""

    index: int
    cases: tuple[Case, ...]
    cost_s: float


def call_cost_s(case: Case) -> float:
    """Estimated seconds per call: FLOPs over :data:`MODEL_FLOP_RATE` plus the forward
    working memory over :data:`MODEL_BYTE_RATE`; 0 for a case without a registered variant."""
    try:
        variant = variants.get(case.variant)
        flops = variant.flops(case)
        memory = variant.memory_bytes(case)
    except (AttributeError, AttnbenchError, KeyError, NotImplementedError, ValueError):
        return 0.0
    return flops / MODEL_FLOP_RATE + memory / MODEL_BYTE_RATE


def case_cost_s(case: Case, timing: TimingSettings | None = None) -> float:
    """Estimated wall seconds for one case under ``timing`` (defaults when None).

    Fixed harness cost + warm-up + sampling (at least ``min_samples`` calls and ``min_time_ms``,
    at most ``max_time_s``) + a few untimed calls.
    """
    t = timing or TimingSettings()
    call = call_cost_s(case)
    sampling = min(t.max_time_s, max(t.min_time_ms / 1e3, t.min_samples * call))
    return CASE_FIXED_S + max(t.warmup_ms / 1e3, call) + sampling + EXTRA_CALLS * call


def groups(cases: Sequence[Case]) -> dict[str, list[int]]:
    """group key → indices into ``cases``, keys in order of first appearance."""
    out: dict[str, list[int]] = {}
    for i, case in enumerate(cases):
        out.setdefault(case.group_key, []).append(i)
    return out


def partition(
    cases: Sequence[Case], parts: int, timing: TimingSettings | None = None
) -> list[Part]:
    """Split ``cases`` into ``parts`` cost-balanced parts with groups kept whole."""
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    costs = [case_cost_s(c, timing) for c in cases]
    by_key = groups(cases)
    group_cost = {key: sum(costs[i] for i in idx) for key, idx in by_key.items()}
    order = sorted(by_key, key=lambda key: (-group_cost[key], key))
    load = [0.0] * parts
    members: list[list[int]] = [[] for _ in range(parts)]
    for key in order:
        target = min(range(parts), key=lambda p: (load[p], p))
        load[target] += group_cost[key]
        members[target].extend(by_key[key])
    return [
        Part(p, tuple(cases[i] for i in sorted(members[p])), load[p]) for p in range(parts)
    ]


def shard_cases(
    cases: Sequence[Case], k: int, n: int, timing: TimingSettings | None = None
) -> list[Case]:
    """Part ``k`` of ``n`` (1-based), as :func:`partition` assigns it."""
    if not 1 <= k <= n:
        raise ValueError(f"shard {k}/{n}: need 1 <= K <= N")
    return list(partition(cases, n, timing)[k - 1].cases)
