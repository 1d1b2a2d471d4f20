"""The drift rule (canary moved beyond its noise ⇒ normalised ratios) and the canary itself."""

from __future__ import annotations

import math

import pytest
import torch

from attnbench.compare.drift import (
    MAX_CANARY_REL_IQR,
    Drift,
    canary_kind,
    canary_of,
    canary_samples,
    compare_canaries,
)
from attnbench.compare.gate import gate_runs
from attnbench.compare.policy import CaseSettings
from attnbench.compare.stats import RatioEstimate
from attnbench.devices import get_device
from attnbench.measure import canary
from attnbench.metrics.stats import rel_iqr
from attnbench.results.schema import RunResult
from tests.compare.helpers import case, run, samples

V = "softmax.naive"


def _runs(
    factor: float, canary_factor: float, canary_noise: float = 0.005
) -> tuple[RunResult, RunResult]:
    ids = (64, 128, 256)
    base = run([case(V, n, samples(1.0, 40, 0.02, n)) for n in ids], canary_ms=0.3)
    cur = run(
        [case(V, n, samples(factor, 40, 0.02, n + 1)) for n in ids],
        canary_ms=0.3 * canary_factor,
        canary_noise=canary_noise,
        canary_seed=11,
    )
    return base, cur


def test_slower_machine_is_not_a_regression_of_every_kernel() -> None:
    base, cur = _runs(1.20, 1.20)
    result = gate_runs(base, cur, defaults=CaseSettings())
    assert result.drift.moved
    assert "canary-normalised" in result.drift.note and "% slower" in result.drift.note
    assert {c.verdict for c in result.cases} == {"same"}
    assert all(c.evidence is not None and c.evidence.normalised for c in result.cases)
    assert result.exit_code == 0


def test_kernel_slower_than_the_machine_is_still_caught() -> None:
    base, cur = _runs(1.20 * 1.15, 1.20)
    result = gate_runs(base, cur, defaults=CaseSettings())
    assert {c.verdict for c in result.cases} == {"slower"}
    c = result.cases[0]
    assert c.estimate is not None and c.estimate.ratio == pytest.approx(1.15, rel=0.03)


def test_canary_within_its_noise_leaves_ratios_raw() -> None:
    base, cur = _runs(1.0, 1.003)
    drift = compare_canaries(base, cur)
    assert not drift.moved and drift.estimate is not None
    assert "no machine drift" in drift.note


def test_a_noisy_canary_is_not_used() -> None:
    base, cur = _runs(1.2, 1.2, canary_noise=0.4)
    drift = compare_canaries(base, cur)
    assert not drift.moved and "too noisy" in drift.note
    result = gate_runs(base, cur, defaults=CaseSettings())
    # Not divided out, the canary's 20% shift and its wander are run-to-run noise: a 20%
    # slower kernel on a machine that ran 20% slower cannot be confirmed.
    assert result.noise.machine_sd_log > 0.05
    assert {c.verdict for c in result.cases} == {"ambiguous"}
    assert all("run-to-run noise" in c.reason for c in result.cases)


def test_no_canary_in_an_older_file_is_said() -> None:
    base = run([case(V, 64, samples(1.0))], canary_ms=None)
    cur = run([case(V, 64, samples(1.0))])
    drift = compare_canaries(base, cur)
    assert drift.estimate is None and "no canary in the baseline run" in drift.note


def test_canary_points_at_start_middle_end_on_the_cpu() -> None:
    dev = get_device("cpu")
    r = run([], canary_ms=None)
    for i in range(5):
        canary.tick(r, dev, i, 5)
    canary.finish(r, dev)
    block = r.run["canary"]
    assert [p["phase"] for p in block["points"]] == ["start", "middle", "end"]
    assert block["kernel"] == "sdpa" and block["shape"] == [1, 4, 256, 32]
    assert block["dtype"] == "fp32" and block["device"] == "cpu"
    assert block["flops"] == 4 * 1 * 4 * 256 * 256 * 32 == canary.flops((1, 4, 256, 32))
    for point in block["points"]:
        assert len(point["samples_ms"]) == canary.SAMPLES
        assert all(s > 0 for s in point["samples_ms"])
        assert point["calls_per_sample"] >= 1


def test_the_canary_is_torch_attention_on_fixed_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[tuple[int, ...], torch.dtype]] = []
    real = torch.nn.functional.scaled_dot_product_attention

    def spy(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        calls.append((tuple(q.shape), q.dtype))
        return real(q, k, v)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    point = canary.measure_point(get_device("cpu"), "start")
    assert calls and set(calls) == {((1, 4, 256, 32), torch.float32)}
    assert len(calls) == canary.WARMUP_CALLS + 1 + canary.SAMPLES * point["calls_per_sample"]


def test_canary_failure_is_recorded_not_raised() -> None:
    class Broken:
        kind = "cpu"

        @property
        def torch_device(self) -> object:
            raise RuntimeError("device vanished")

    r = run([], canary_ms=None)
    canary.record(r, Broken(), "start")  # type: ignore[arg-type]
    assert r.run["canary"]["points"] == [
        {"phase": "start", "error": "RuntimeError: device vanished"}
    ]


def test_tick_records_no_middle_for_tiny_runs() -> None:
    dev = get_device("cpu")
    r = run([], canary_ms=None)
    canary.tick(r, dev, 0, 2)
    canary.tick(r, dev, 1, 2)
    assert [p["phase"] for p in r.run["canary"]["points"]] == ["start"]


# ------------------------------------------------------------ the drift rule at its edges
def _with_canary(values: list[float], **kind: object) -> RunResult:
    r = run([])
    r.run["canary"]["points"] = [{"phase": "start", "samples_ms": values}]
    r.run["canary"].update(kind)
    return r


def test_drift_needs_the_canary_outside_the_margin_not_at_it() -> None:
    # constant canaries: every bootstrap ratio is the point ratio, so the interval is exact
    base = _with_canary([1.0, 1.0, 1.0])
    at_slow, at_fast = _with_canary([1.01] * 3), _with_canary([0.99] * 3)
    for at in (at_slow, at_fast):
        d = compare_canaries(base, at)
        assert d.estimate is not None and d.estimate.ci_low == d.estimate.ci_high
        assert not d.moved
    beyond_slow = compare_canaries(base, _with_canary([math.nextafter(1.01, 2.0)] * 3))
    assert beyond_slow.moved and "ran 1.0% slower" in beyond_slow.note
    beyond_fast = compare_canaries(base, _with_canary([math.nextafter(0.99, 0.0)] * 3))
    assert beyond_fast.moved and "ran 1.0% faster" in beyond_fast.note


def test_two_canary_samples_per_run_are_enough() -> None:
    two = _with_canary([1.0, 1.0])
    d = compare_canaries(two, _with_canary([1.5, 1.5]))
    assert d.estimate is not None and d.estimate.ratio == 1.5 and d.moved
    one = _with_canary([1.0])
    assert compare_canaries(two, one) == Drift(
        None, False, "no canary in the current run: cases judged on raw ratios"
    )
    assert compare_canaries(one, two).note == (
        "no canary in the baseline run: cases judged on raw ratios"
    )


def test_a_canary_exactly_at_the_noise_limit_is_used() -> None:
    # [9, 10, 11]: quartiles 9.5 and 10.5 around 10, a relative IQR of exactly 0.10
    at = _with_canary([9.0, 10.0, 11.0])
    assert rel_iqr([9.0, 10.0, 11.0]) == MAX_CANARY_REL_IQR
    d = compare_canaries(at, _with_canary([9.0, 10.0, 11.0]))
    # three samples a side: the bootstrap ratios run from 9/11 to 11/9
    assert d.note == "canary ratio 1.000 [0.818, 1.222]: no machine drift beyond its noise"
    over = _with_canary([9.0, 10.0, 11.01])
    d = compare_canaries(at, over)
    assert d.moved is False and d.estimate is not None
    assert d.note == (
        "canary ratio 1.000, but the current run's canary is too noisy (relative IQR 10%) to "
        "separate machine drift: cases judged on raw ratios"
    )
    assert "the baseline run's canary is too noisy" in compare_canaries(over, at).note


def test_different_canaries_are_not_compared() -> None:
    base = _with_canary([1.0, 1.0])
    for change in ({"kernel": "matmul"}, {"shape": [1, 4, 512, 32]}, {"dtype": "bf16"},
                   {"device": "cuda"}, {"size": 4096}):  # fmt: skip
        d = compare_canaries(base, _with_canary([1.0, 1.0], **change))
        assert d == Drift(
            None, False, "the runs timed different canaries: cases judged on raw ratios"
        ), change
    assert canary_kind(base) == ("sdpa", None, (1, 4, 256, 32), "fp32", "cpu")


def test_canary_blocks_that_are_not_what_they_should_be() -> None:
    r = run([])
    r.run["canary"] = ["not", "a", "block"]
    assert canary_of(r) is None and canary_samples(r) == []
    assert canary_kind(r) == (None, None, None, None, None)
    r.run["canary"] = {"points": ["x", {"samples_ms": "1.0"}, {"samples_ms": [2, 3.5]}]}
    assert canary_samples(r) == [2.0, 3.5]
    del r.run["canary"]
    assert canary_of(r) is None


def test_drift_json() -> None:
    est = RatioEstimate(1.2, 1.15, 1.25)
    assert Drift(est, True, "n").to_dict() == {
        "available": True, "ratio": 1.2, "ci_low": 1.15, "ci_high": 1.25, "moved": True,
        "normalised": True, "margin": 0.01, "note": "n",
    }  # fmt: skip
    assert Drift(None, False, "none").to_dict() == {
        "available": False, "ratio": None, "ci_low": None, "ci_high": None, "moved": False,
        "normalised": False, "margin": 0.01, "note": "none",
    }  # fmt: skip


def test_a_noisy_canary_states_its_noise_in_whole_percent() -> None:
    # [1, 2, 10]: quartiles 1.5 and 6 around a median of 2, a relative IQR of 225%
    d = compare_canaries(_with_canary([1.0, 2.0, 10.0]), _with_canary([1.0, 1.0]))
    assert "the baseline run's canary is too noisy (relative IQR 225%)" in d.note
