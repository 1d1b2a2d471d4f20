"""Measure a comparison group: the cases of one shape, sampled in rotation, ratios from pairs.

A comparison group is the cases that share :attr:`Case.group_key` (shape, dtype, mask, pass)
and differ only in variant or variant parameters. :func:`measure_group` runs them together:

1. **Prepare** each member in suite order: support check, inputs (q, k, v are shared, see
   :class:`InputPool`), setup phase, correctness check, then warm-up and block calibration
   with its own :class:`~attnbench.measure.timing.Sampler`. A member that is skipped, runs
   out of memory or fails leaves the group; the others go on.
2. **Rotation**: round after round, each member still sampling takes one sample, always in
   the same order (A B C A B C ...), so drift and bursts of load fall on every member alike.
   A member leaves the rotation when its own stopping rule fires (the single-case rule of
   ``measure/timing.py``), or, for a member other than the baseline, once the floors are met
   and its paired ratio's 95% interval lies within ``±target_rel_iqr`` of the ratio
   (stop reason ``ratio_converged``). The group ends when every member has left. Since every
   member is sampled once per round from round 0 until it leaves, the i-th samples of two
   members come from the same round.
3. **Finish** each member on its own: summary metrics, warnings, then its memory window and
   its energy window (windows are never shared).
4. **Paired ratios** against the baseline member (the suite's ``baseline`` variant, else
   ``softmax.sdpa``; the first such member when a parameter sweep gives several):
   ``ratio/to_baseline`` is the median over shared rounds of member sample / baseline
   sample, with the distribution-free order-statistic 95% interval of that median
   (:func:`~attnbench.metrics.stats.paired_ratio`) as ``ratio/ci_low`` / ``ratio/ci_high``
   and the count as ``ratio/pairs``. Below 6 pairs there is no 95% interval: the ratio is
   stored without one and the case warns ``FEW_PAIRS``. The baseline itself gets exactly 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import torch

from attnbench.case import Case
from attnbench.devices.base import Device
from attnbench.measure.bench import (
    BenchSettings,
    Prepared,
    finish,
    prepare,
    recorded,
    skeleton,
    skip_reason,
)
from attnbench.measure.contention import ContentionReport, ContentionWindow
from attnbench.measure.energy import EnergyMeter
from attnbench.measure.timing import Sampler
from attnbench.metrics.stats import PairedRatio, paired_ratio
from attnbench.results.schema import STATUS_OK, STATUS_SKIPPED, CaseResult
from attnbench.variants.base import Inputs, Variant

DEFAULT_BASELINE = "softmax.sdpa"
STOP_RATIO = "ratio_converged"
FEW_PAIRS = "FEW_PAIRS"
SHARED_KEYS = ("q", "k", "v")


class InputPool:
    """The q, k, v tensors a group's members share.

    Every variant draws q, k, v first from ``torch.Generator().manual_seed(seed)`` with the
    case's shape, so members made with the same seed draw identical tensors. The first
    member's tensors are kept; a later member's are swapped for them when key, shape, dtype,
    device and every value match (checked with ``torch.equal``, never assumed), and kept as
    its own otherwise. ``shared`` counts the swaps.
    """

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self.shared = 0

    def share(self, inputs: Inputs) -> Inputs:
        out = dict(inputs)
        for key in SHARED_KEYS:
            mine = inputs.get(key)
            if mine is None:
                continue
            held = self.tensors.setdefault(key, mine)
            if held is not mine and _same(held, mine):
                out[key] = held
                self.shared += 1
        return out


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and a.device == b.device
        and bool(torch.equal(a.detach(), b.detach()))
    )


@dataclass
class Member:
    """One case of a group while it is measured; ``spent_s`` is wall time spent on it."""

    variant: Variant
    case: Case
    result: CaseResult
    prepared: Prepared | None = None
    sampler: Sampler | None = None
    spent_s: float = 0.0
    sampling: bool = False
    ratio: PairedRatio | None = field(default=None, repr=False)
    on_enter: Callable[[Case], None] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.result.status == STATUS_OK


def measure_group(
    cases: Sequence[tuple[Variant, Case]],
    device: Device,
    settings: BenchSettings,
    meter: EnergyMeter,
    group_id: str,
    baseline: str | None = None,
    on_member: Callable[[Case], None] | None = None,
) -> list[CaseResult]:
    """Measure ``cases`` (one comparison group) together; one result per case, in order.

    Failures become statuses of the member concerned, never exceptions.

    Args:
        cases: the members, in the order they are prepared and sampled.
        device: where they run.
        settings: timing, check mode, seed and peak for every member.
        meter: the energy meter (one window per member, after sampling).
        group_id: stored as each result's ``group``.
        baseline: the variant ratios are taken against; None means ``softmax.sdpa``.
        on_member: told which member is about to be prepared, sampled or finished (the
            ``--isolate`` worker reports it, so a crash is charged to the right member).
    """
    pool = InputPool()
    members = [Member(v, c, skeleton(v, c), on_enter=on_member) for v, c in cases]
    try:
        for m in members:
            m.result.group = group_id
            _timed(m, partial(_prepare, m, device, settings, pool))
        base = _baseline(members, baseline or DEFAULT_BASELINE)
        with ContentionWindow() as window:  # one window: the rotation shares the CPU alike
            _rotate(members, base, device, settings)
        for m in members:
            if m.ok and m.sampler is not None and m.prepared is not None:
                _timed(m, partial(_finish, m, device, settings, meter, window.report))
            m.result.duration_s = m.spent_s
    finally:
        device.end_case()  # captured CUDA graphs of every member: freed once the group ends
    if base is not None and base.ok:
        _store_ratios(members, base)
    return [m.result for m in members]


def _timed(member: Member, phase: Callable[[], None]) -> None:
    if member.on_enter is not None:
        member.on_enter(member.case)
    t0 = time.perf_counter()
    phase()
    member.spent_s += time.perf_counter() - t0


def _prepare(m: Member, device: Device, settings: BenchSettings, pool: InputPool) -> None:
    why = skip_reason(m.variant, m.case, device)
    if why:
        m.result.status, m.result.reason = STATUS_SKIPPED, why
        return
    with recorded(m.result, device), m.variant.call_context(m.case):
        m.prepared = prepare(m.result, m.variant, m.case, device, settings, share=pool.share)
        if m.prepared is None:
            return
        sampler = Sampler(m.prepared.call, device, settings.timing)
        with m.prepared.counting():
            sampler.warm_up()
            sampler.calibrate()
        m.sampler = sampler
    m.sampling = m.ok and m.sampler is not None


def _baseline(members: Sequence[Member], name: str) -> Member | None:
    return next((m for m in members if m.variant.info.name == name and m.sampling), None)


def _rotate(
    members: Sequence[Member], base: Member | None, device: Device, settings: BenchSettings
) -> None:
    """Sample the members in rotation until every one has left (see the module docstring)."""
    while any(m.sampling for m in members):
        for m in members:
            if m.sampling:
                _timed(m, partial(_sample, m, device))
        for m in members:
            if m.sampling and m is not base and base is not None:
                _ratio_rule(m, base, settings.timing.target_rel_iqr)


def _sample(m: Member, device: Device) -> None:
    assert m.sampler is not None and m.prepared is not None
    with recorded(m.result, device), m.variant.call_context(m.case), m.prepared.counting():
        m.sampler.take_sample()
    if not m.ok or m.sampler.should_stop():
        m.sampling = False


def _ratio_rule(m: Member, base: Member, target: float) -> None:
    """``ratio_converged`` once the floors are met and the paired interval is tight."""
    assert m.sampler is not None and base.sampler is not None
    if not base.ok or not m.sampler.floors_met():
        return
    ratio = paired_ratio(m.sampler.samples_ms, base.sampler.samples_ms)
    width = ratio.half_width()
    if width is not None and width <= target:
        m.sampler.stop(STOP_RATIO)
        m.sampling = False


def _finish(
    m: Member,
    device: Device,
    settings: BenchSettings,
    meter: EnergyMeter,
    contention: ContentionReport | None = None,
) -> None:
    assert m.sampler is not None and m.prepared is not None
    if not m.sampler.samples_ms:
        return
    timing = m.sampler.result()
    with recorded(m.result, device), m.variant.call_context(m.case):
        finish(m.result, m.variant, m.case, device, settings, meter, m.prepared, timing,
               contention)


def _store_ratios(members: Sequence[Member], base: Member) -> None:
    """``ratio/*`` metrics of every ok member against ``base`` (see the module docstring)."""
    assert base.sampler is not None
    for m in members:
        if not m.ok or m.sampler is None or not m.sampler.samples_ms:
            continue
        m.result.baseline = base.result.case_id
        if m is base:
            n = float(len(m.sampler.samples_ms))
            m.result.metrics.update(
                {"ratio/to_baseline": 1.0, "ratio/ci_low": 1.0, "ratio/ci_high": 1.0,
                 "ratio/pairs": n}
            )  # fmt: skip
            continue
        r = paired_ratio(m.sampler.samples_ms, base.sampler.samples_ms)
        m.result.metrics["ratio/to_baseline"] = r.ratio
        m.result.metrics["ratio/pairs"] = float(r.pairs)
        if r.ci_low is None or r.ci_high is None:
            m.result.warnings.append(FEW_PAIRS)
        else:
            m.result.metrics["ratio/ci_low"] = r.ci_low
            m.result.metrics["ratio/ci_high"] = r.ci_high
