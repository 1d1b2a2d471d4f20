"""Every verdict on constructed samples, direction awareness, the floor and the exit code."""

from __future__ import annotations

import pytest

from attnbench.compare.gate import gate_runs
from attnbench.compare.policy import CaseSettings, Policy, Rule
from attnbench.errors import NotComparableError
from attnbench.results.schema import RunResult
from tests.compare.helpers import case, run, samples

V = "softmax.naive"
DEFAULT = CaseSettings()


def verdicts(base: RunResult, cur: RunResult, **kw: object) -> dict[str, str]:
    result = gate_runs(base, cur, defaults=kw.pop("defaults", DEFAULT), **kw)  # type: ignore[arg-type]
    return {c.case_id.split("/")[1].split("-")[2]: c.verdict for c in result.cases}


def pair(
    cur_factor: float, n: int = 40, noise: float = 0.02, seed: int = 3
) -> tuple[RunResult, RunResult]:
    base = run([case(V, 64, samples(1.0, n, noise, 1))])
    cur = run([case(V, 64, samples(1.0 * cur_factor, n, noise, seed))])
    return base, cur


def one(base: RunResult, cur: RunResult, **kw: object):  # type: ignore[no-untyped-def]
    result = gate_runs(base, cur, defaults=kw.pop("defaults", DEFAULT), **kw)  # type: ignore[arg-type]
    return result, result.cases[0]


def test_slower_when_ratio_significance_and_floor_all_hold() -> None:
    result, c = one(*pair(1.10))
    assert c.verdict == "slower"
    assert c.p_adjusted is not None and c.p_adjusted <= 0.05
    assert c.estimate is not None and c.estimate.ci_low > 1.05
    assert result.exit_code == 1


def test_faster_never_fails_the_gate() -> None:
    result, c = one(*pair(0.85))
    assert c.verdict == "faster"
    assert result.exit_code == 0


def test_same_states_the_minimum_detectable_effect() -> None:
    result, c = one(*pair(1.0, n=60, noise=0.01, seed=2))
    assert c.verdict == "same"
    assert c.mde is not None and 0 < c.mde < 0.05
    assert result.exit_code == 0


def test_ambiguous_states_samples_needed() -> None:
    # 8% slower but very noisy with few samples: neither confirmed nor inside ±5%
    base = run([case(V, 64, samples(1.0, 6, 0.15, 1))])
    cur = run([case(V, 64, samples(1.08, 6, 0.15, 2))])
    result, c = one(base, cur)
    assert c.verdict == "ambiguous"
    assert c.samples_needed is not None and c.samples_needed > 6
    assert result.exit_code == 0
    assert gate_runs(base, cur, defaults=DEFAULT, strict=True).exit_code == 1


def test_threshold_boundary_on_both_sides() -> None:
    base, cur = pair(1.10, n=200, noise=0.005)
    assert one(base, cur, defaults=CaseSettings(max_regression=0.05))[1].verdict == "slower"
    assert one(base, cur, defaults=CaseSettings(max_regression=0.15))[1].verdict == "same"


def test_change_below_floor_is_same() -> None:
    base, cur = pair(1.10)  # medians ~1 ms, change ~0.1 ms
    _, c = one(base, cur, defaults=CaseSettings(floor_ms=0.5))
    assert c.verdict == "same" and "below the floor" in c.reason
    assert one(base, cur, defaults=CaseSettings(floor_ms=0.05))[1].verdict == "slower"


def test_high_noise_flag_blocks_confirmation() -> None:
    base = run([case(V, 64, samples(1.0, 40, 0.02, 1))])
    cur = run([case(V, 64, samples(1.2, 40, 0.02, 2), warnings=("HIGH_NOISE",))])
    _, c = one(base, cur)
    assert c.verdict == "ambiguous" and "HIGH_NOISE in current" in c.reason


def test_incomparable_on_fingerprint_dtype_torch_driver() -> None:
    base = run([case(V, 64, samples(1.0)), case(V, 128, samples(2.0))])
    cur = run([case(V, 64, samples(1.5), fingerprint="b" * 16), case(V, 128, samples(2.0))])
    assert verdicts(base, cur) == {"n64": "incomparable", "n128": "same"}
    other_torch = run([case(V, 64, samples(3.0)), case(V, 128, samples(3.0))], torch="2.14.0")
    result = gate_runs(base, other_torch, defaults=DEFAULT)
    assert {c.verdict for c in result.cases} == {"incomparable"}
    assert result.exit_code == 3  # nothing could be judged; never a regression
    gpu = dict(kind="cuda", device="NVIDIA H100")
    a = run([case(V, 64, samples(1.0))], driver="550.54", **gpu)  # type: ignore[arg-type]
    b = run([case(V, 64, samples(2.0))], driver="560.01", **gpu)  # type: ignore[arg-type]
    _, c = one(a, b)
    assert c.verdict == "incomparable" and "driver differs" in c.reason


def test_dtype_mismatch_is_incomparable() -> None:
    base = run([case(V, 64, samples(1.0))])
    other = case(V, 64, samples(2.0))
    other.params["dtype"] = "bf16"
    _, c = one(base, run([other]))
    assert c.verdict == "incomparable" and "dtype" in c.reason


def test_new_missing_failed_and_not_run() -> None:
    base = run(
        [
            case(V, 64, samples(1.0)),
            case(V, 128, samples(1.0)),
            case(V, 256, samples(1.0)),
            case(V, 512, status="skipped", reason="no causal"),
            case(V, 1024, samples(1.0)),
        ]
    )
    cur = run(
        [
            case(V, 64, samples(1.0)),
            case(V, 256, status="failed", reason="RuntimeError: boom"),
            case(V, 512, status="skipped", reason="no causal"),
            case(V, 1024, status="skipped", reason="backend gone"),
            case(V, 2048, samples(1.0)),
        ]
    )
    got = verdicts(base, cur)
    assert got == {
        "n64": "same",
        "n128": "missing",
        "n256": "failed",
        "n512": "not_run",
        "n1024": "missing",
        "n2048": "new",
    }
    result = gate_runs(base, cur, defaults=DEFAULT)
    assert result.exit_code == 1  # failed counts as a regression
    assert [c.case_id for c in result.regressions()] == [base.cases[2].case_id]


def test_missing_only_fails_with_strict() -> None:
    base = run([case(V, 64, samples(1.0)), case(V, 128, samples(1.0))])
    cur = run([case(V, 64, samples(1.0))])
    assert gate_runs(base, cur, defaults=DEFAULT).exit_code == 0
    assert gate_runs(base, cur, defaults=DEFAULT, strict=True).exit_code == 1


def test_higher_is_better_metric_reverses_the_direction() -> None:
    base, cur = pair(1.10)  # 10% more time = 9% fewer TFLOP/s
    _, c = one(base, cur, defaults=CaseSettings(metric="throughput/tflops"))
    assert c.verdict == "slower" and c.direction == "higher"
    assert c.estimate is not None and c.estimate.ratio == pytest.approx(1 / 1.10, rel=0.03)
    _, c = one(*pair(0.85), defaults=CaseSettings(metric="throughput/tflops"))
    assert c.verdict == "faster"


def test_one_value_metric_judged_on_threshold() -> None:
    base = run([case(V, 64, samples(1.0), extra={"memory/peak_bytes": 1000.0})])
    more = run([case(V, 64, samples(1.0), extra={"memory/peak_bytes": 1200.0})])
    same = run([case(V, 64, samples(1.0), extra={"memory/peak_bytes": 1020.0})])
    mem = CaseSettings(metric="memory/peak_bytes")
    _, c = one(base, more, defaults=mem)
    assert c.verdict == "slower" and c.p_adjusted is None and "one value" in c.reason
    assert one(base, same, defaults=mem)[1].verdict == "same"
    no_metric = run([case(V, 64, samples(1.0))])
    assert one(base, no_metric, defaults=mem)[1].verdict == "ambiguous"


def test_holm_spreads_over_all_tested_cases() -> None:
    # one modest slowdown among many unchanged cases: significant alone, adjusted across 40
    n_cases = 40
    base = run([case(V, 16 * (i + 1), samples(1.0, 12, 0.05, i)) for i in range(n_cases)])
    cur_cases = [case(V, 16 * (i + 1), samples(1.0, 12, 0.05, 100 + i)) for i in range(n_cases)]
    cur_cases[0] = case(V, 16, samples(1.12, 12, 0.05, 999))
    result = gate_runs(base, run(cur_cases), defaults=DEFAULT)
    first = result.cases[0]
    assert first.evidence is not None and first.evidence.p is not None
    assert first.p_adjusted is not None and first.p_adjusted > first.evidence.p
    assert sum(c.verdict == "slower" for c in result.cases) <= 1


def test_policy_rules_ignore_and_threshold() -> None:
    base = run([case(V, 64, samples(1.0)), case("softmax.sdpa", 64, samples(1.0))])
    cur = run([case(V, 64, samples(1.10, seed=4)), case("softmax.sdpa", 64, samples(1.10, seed=5))])
    policy = Policy(
        rules=(
            Rule(variant="softmax.naive", max_regression=0.2),
            Rule(match="softmax.sdpa/*", ignore=True, reason="flaky"),
            Rule(match="nothing*", floor_ms=1.0, where="p.yaml:9"),
        )
    )
    result = gate_runs(base, cur, defaults=DEFAULT, policy=policy)
    assert [c.verdict for c in result.cases] == ["same", "ignored"]
    assert result.cases[1].reason == "flaky"
    assert result.notes == ["policy rule at p.yaml:9 matched no case"]
    assert result.exit_code == 0


def test_different_device_model_exits_3_unless_allowed() -> None:
    a = run([case(V, 64, samples(1.0))], device="CPU A")
    b = run([case(V, 64, samples(1.5))], device="CPU B")
    with pytest.raises(NotComparableError) as info:
        gate_runs(a, b, defaults=DEFAULT)
    assert info.value.exit_code == 3 and "device model differs" in str(info.value)
    result = gate_runs(a, b, defaults=DEFAULT, allow_different_device=True)
    assert result.cases[0].verdict == "slower"
    assert any("allowed by --allow-different-device" in n for n in result.notes)


def test_no_common_case_exits_3() -> None:
    a = run([case(V, 64, samples(1.0))])
    b = run([case(V, 128, samples(1.0))])
    with pytest.raises(NotComparableError, match="no case in common"):
        gate_runs(a, b, defaults=DEFAULT)


def test_json_verdict_fields() -> None:
    result, _ = one(*pair(1.10))
    d = result.to_dict()
    assert d["exit_code"] == 1 and d["counts"]["slower"] == 1
    c = d["cases"][0]
    for key in ("verdict", "ratio", "ci_low", "ci_high", "p", "p_adjusted", "mde"):
        assert key in c
    assert d["drift"]["available"] is True
    assert d["geomean"][0]["count"] == 1
