"""The drift rule (canary moved beyond its noise ⇒ normalised ratios) and the canary itself."""

from __future__ import annotations

import pytest
import torch

from attnbench.compare.drift import compare_canaries
from attnbench.compare.gate import gate_runs
from attnbench.compare.policy import CaseSettings
from attnbench.devices import get_device
from attnbench.measure import canary
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
