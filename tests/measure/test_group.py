"""Comparison groups on a scripted clock: rotation order, per-member stopping, paired ratios."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import pytest
import torch

from attnbench import Case, variants
from attnbench.devices.base import BlockTime, Device, MemoryStats
from attnbench.measure.bench import BenchSettings
from attnbench.measure.energy import UnavailableMeter
from attnbench.measure.group import STOP_RATIO, InputPool, measure_group
from attnbench.suite.schema import TimingSettings
from attnbench.variants.base import Inputs, Variant, VariantInfo
from attnbench.variants.softmax import SoftmaxNaive

CALLED: list[str] = []
"""Names of the fake variants in the order their forward ran."""


def fake(name: str, fail_after: int | None = None, skip: str | None = None) -> Variant:
    """A tiny real kernel under ``name`` that logs each call (and may fail or be skipped)."""

    class Fake(SoftmaxNaive):
        info: ClassVar[VariantInfo] = dataclasses.replace(SoftmaxNaive.info, name=name)
        calls = 0

        def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
            Fake.calls += 1
            if fail_after is not None and Fake.calls > fail_after:
                raise RuntimeError("kernel exploded")
            CALLED.append(name)
            return super().forward(inputs, case)

        def unsupported(self, case: Case, device: str | None = None) -> str | None:
            return skip

    return Fake()


class ScriptedDevice(Device):
    """A CPU whose calls take scripted durations per variant name (seconds).

    ``sampled`` lists, for every sample (a block after ``prepare_sample``), the variant timed.
    """

    kind = "cpu"
    name = "cpu"

    def __init__(self, durations: dict[str, Iterable[float]]) -> None:
        self.durations = {k: iter(v) for k, v in durations.items()}
        self.sampled: list[str] = []
        self._next_is_sample = False

    @property
    def torch_device(self) -> torch.device:
        return torch.device("cpu")

    def synchronize(self) -> None:
        pass

    def time_block(self, fn: Callable[[], object], number: int) -> BlockTime:
        if getattr(fn, "__name__", "") == "_noop":
            return BlockTime(1e-9, 1e-9, number)
        total = 0.0
        for _ in range(number):
            fn()
            total += next(self.durations[CALLED[-1]])
        if self._next_is_sample:
            self.sampled.append(CALLED[-1])
            self._next_is_sample = False
        return BlockTime(total, total, number)

    def prepare_sample(self) -> None:
        self._next_is_sample = True

    @contextmanager
    def memory_window(self) -> Iterator[MemoryStats]:
        yield MemoryStats(method="scripted")

    def dtype_problem(self, dtype: str) -> str | None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"kind": "cpu"}


CASE = Case(1, 2, 16, 8, False, "fp32", {}, "", "fwd")
SETTINGS = BenchSettings(
    TimingSettings(warmup_ms=0.5, min_samples=6, min_time_ms=1.0, max_time_s=10.0,
                   target_rel_iqr=0.01),
    check="off",
)
METER = UnavailableMeter("scripted test")


def run_group(members: list[Variant], device: ScriptedDevice, baseline: str) -> list[Any]:
    CALLED.clear()
    cases = [(v, CASE.replace(variant=v.info.name)) for v in members]
    return measure_group(cases, device, SETTINGS, METER, "g1", baseline)


def test_rotation_order_and_each_member_stops_on_its_own_rule() -> None:
    a, b, c = fake("fake.a"), fake("fake.b"), fake("fake.c")
    device = ScriptedDevice({
        "fake.a": itertools.repeat(1e-3),             # flat: converges at the floor
        "fake.b": itertools.cycle([1e-3, 3e-3]),      # never converges: noise plateau
        "fake.c": itertools.repeat(2e-3),             # flat, twice the baseline
    })
    ra, rb, rc = run_group([a, b, c], device, baseline="fake.a")
    # six rounds of A B C, then B alone until its plateau (6 + 20 - 1 = 25 samples)
    assert device.sampled == ["fake.a", "fake.b", "fake.c"] * 6 + ["fake.b"] * 19
    assert (ra.stop_reason, rb.stop_reason, rc.stop_reason) == (
        "converged", "noise_plateau", "converged")
    assert [len(r.samples) for r in (ra, rb, rc)] == [6, 25, 6]
    assert all(r.group == "g1" and r.baseline == ra.case_id for r in (ra, rb, rc))
    assert ra.metrics["ratio/to_baseline"] == 1.0
    # C is exactly twice A in every round
    assert rc.metrics["ratio/to_baseline"] == pytest.approx(2.0)
    assert (rc.metrics["ratio/ci_low"], rc.metrics["ratio/ci_high"]) == pytest.approx((2, 2))
    # B pairs only with A's 6 rounds: ratios 1 3 1 3 1 3 -> median 2, interval [1, 3]
    assert rb.metrics["ratio/pairs"] == 6
    assert rb.metrics["ratio/to_baseline"] == pytest.approx(2.0)
    assert (rb.metrics["ratio/ci_low"], rb.metrics["ratio/ci_high"]) == pytest.approx((1, 3))


def test_a_tight_paired_ratio_stops_a_noisy_member() -> None:
    # A and D are noisy in lockstep: D is exactly 2x A in every round, so the paired ratio
    # is tight after the floor although D's own spread never shrinks
    device = ScriptedDevice({
        "fake.a": itertools.cycle([1e-3, 2e-3]),
        "fake.d": itertools.cycle([2e-3, 4e-3]),
    })
    ra, rd = run_group([fake("fake.a"), fake("fake.d")], device, baseline="fake.a")
    assert rd.stop_reason == STOP_RATIO and len(rd.samples) == 6
    assert "NOT_CONVERGED" not in rd.warnings and "HIGH_NOISE" in rd.warnings
    assert ra.stop_reason == "noise_plateau" and len(ra.samples) == 25
    assert device.sampled == ["fake.a", "fake.d"] * 6 + ["fake.a"] * 19
    assert rd.metrics["ratio/to_baseline"] == pytest.approx(2.0)


def test_failing_and_skipped_members_leave_the_others_going() -> None:
    # the broken one fails on its 13th call: after 10 warm-up calls, in sampling round 3
    device = ScriptedDevice({"fake.a": itertools.repeat(1e-3), "fake.x": itertools.repeat(1e-3),
                             "fake.s": itertools.repeat(1e-3)})
    ra, rx, rs = run_group(
        [fake("fake.a"), fake("fake.x", fail_after=12), fake("fake.s", skip="not here")],
        device, baseline="fake.a")
    assert ra.status == "ok" and len(ra.samples) == 6
    assert rx.status == "failed" and rx.reason == "RuntimeError: kernel exploded"
    assert rs.status == "skipped" and rs.reason == "not here"
    assert "fake.s" not in device.sampled
    assert device.sampled[:5] == ["fake.a", "fake.x", "fake.a", "fake.x", "fake.a"]
    assert "ratio/to_baseline" not in rx.metrics


def test_few_pairs_give_a_ratio_without_interval() -> None:
    settings = dataclasses.replace(
        SETTINGS, timing=dataclasses.replace(SETTINGS.timing, min_samples=5))
    device = ScriptedDevice({"fake.a": itertools.repeat(1e-3), "fake.c": itertools.repeat(3e-3)})
    CALLED.clear()
    members = [fake("fake.a"), fake("fake.c")]
    cases = [(v, CASE.replace(variant=v.info.name)) for v in members]
    _, rc = measure_group(cases, device, settings, METER, "g", "fake.a")
    assert rc.metrics["ratio/pairs"] == 5
    assert rc.metrics["ratio/to_baseline"] == pytest.approx(3.0)
    assert "ratio/ci_low" not in rc.metrics and "FEW_PAIRS" in rc.warnings


def test_no_baseline_in_the_group_means_no_ratios() -> None:
    device = ScriptedDevice({"fake.a": itertools.repeat(1e-3), "fake.c": itertools.repeat(3e-3)})
    results = run_group([fake("fake.a"), fake("fake.c")], device, baseline="softmax.sdpa")
    assert all(r.group == "g1" and not r.baseline for r in results)
    assert not any(k.startswith("ratio/") for r in results for k in r.metrics)


def test_every_variant_draws_the_same_qkv_for_one_seed() -> None:
    case = Case(1, 2, 32, 16, False, "fp32", {}, "", "fwd")
    reference = variants.get("softmax.sdpa").make_inputs(case, "cpu", seed=3)
    for name in variants.names():
        inputs = variants.get(name).make_inputs(case, "cpu", seed=3)
        for key in ("q", "k", "v"):
            assert torch.equal(inputs[key], reference[key]), (name, key)


def test_input_pool_shares_equal_tensors_only() -> None:
    case = Case(1, 2, 32, 16, False, "fp32", {}, "", "fwd")
    v = variants.get("softmax.sdpa")
    pool = InputPool()
    first = pool.share(v.make_inputs(case, "cpu", seed=0))
    second = pool.share(v.make_inputs(case, "cpu", seed=0))
    assert all(second[k] is first[k] for k in ("q", "k", "v")) and pool.shared == 3
    other = pool.share(v.make_inputs(case, "cpu", seed=1))  # other values: kept apart
    assert all(other[k] is not first[k] for k in ("q", "k", "v")) and pool.shared == 3


def test_compiles_are_counted_per_member(monkeypatch: pytest.MonkeyPatch) -> None:
    # a fake dynamo counter: every member's setup "compiles" once; fake.late also compiles
    # on its 12th call (a sample), which is a recompile of its own and of no other member
    count = [0]
    monkeypatch.setattr("attnbench.measure.bench.compile_count", lambda: count[0])

    def compiling(name: str, late_call: int | None = None) -> Variant:
        base = fake(name)

        class Compiling(type(base)):  # type: ignore[misc]
            seen = 0

            def setup(self, inputs: Inputs, case: Case) -> None:
                count[0] += 1

            def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
                Compiling.seen += 1
                if Compiling.seen == late_call:
                    count[0] += 1
                return super().forward(inputs, case)

        return Compiling()

    device = ScriptedDevice({"fake.a": itertools.repeat(1e-3), "fake.late": itertools.repeat(2e-3)})
    ra, rl = run_group([compiling("fake.a"), compiling("fake.late", late_call=12)], device,
                       baseline="fake.a")
    assert ra.metrics["compile/setup_compiles"] == 1 and ra.metrics["compile/recompiles"] == 0
    assert "RECOMPILED" not in ra.warnings
    assert rl.metrics["compile/setup_compiles"] == 1 and rl.metrics["compile/recompiles"] == 1
    assert "RECOMPILED" in rl.warnings
