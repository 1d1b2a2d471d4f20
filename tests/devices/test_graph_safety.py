"""What the GPU path needs from the variants and the harness, checked on the CPU.

* checkpointed (streaming) variants never read the RNG state: stashing it is what fails
  under CUDA-graph capture on torch versions without the fix for pytorch#162504;
* the harness asks a device whether a pass can be timed in its mode (bwd under graphs);
* the backend label is asked after the inputs are in their timed state (requires_grad);
* FlexAttention compiles in setup in the mode it is timed in, and the recompiles are counted.
"""

from __future__ import annotations

import pytest
import torch

from attnbench import Case, variants
from attnbench.devices import CpuDevice
from attnbench.measure.bench import BenchSettings, make_call, measure_case
from attnbench.measure.compiles import compile_count
from attnbench.measure.energy import UnavailableMeter
from attnbench.suite.schema import TimingSettings
from attnbench.variants.base import Inputs
from attnbench.variants.softmax import SoftmaxNaive

FAST = BenchSettings(TimingSettings(warmup_ms=1, min_samples=3, min_time_ms=1, max_time_s=0.2))
METER = UnavailableMeter("no energy meter on this test machine")


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("softmax.streaming", {"block_q": 16, "block_k": 16}),
        ("cog.streaming", {"block_q": 16, "block_k": 16}),
        ("sinkhorn.streaming", {}),
    ],
)
def test_checkpointed_variants_never_stash_the_rng_state(
    monkeypatch: pytest.MonkeyPatch, name: str, params: dict[str, int]
) -> None:
    def refuse() -> torch.Tensor:
        raise AssertionError("checkpoint stashed the RNG state (preserve_rng_state=True)")

    monkeypatch.setattr(torch, "get_rng_state", refuse)
    v = variants.get(name)
    case = Case(1, 2, 48, 8, v.info.causal, "fp32", params, name, "fwd_bwd")
    grads = make_call(v, v.make_inputs(case), case)()
    assert isinstance(grads, tuple) and all(torch.isfinite(g).all() for g in grads)


class _RefusesBwd(CpuDevice):
    def pass_problem(self, pass_: str) -> str | None:
        return "no bwd here" if pass_ == "bwd" else None


def test_a_pass_the_device_refuses_is_skipped_before_anything_runs() -> None:
    bwd = Case(1, 2, 16, 8, False, "fp32", {}, "softmax.naive", "bwd")
    r = measure_case(variants.get("softmax.naive"), bwd, _RefusesBwd(), FAST, METER)
    assert (r.status, r.reason, r.samples) == ("skipped", "no bwd here", [])
    fwd = Case(1, 2, 16, 8, False, "fp32", {}, "softmax.naive", "fwd")
    ok = measure_case(variants.get("softmax.naive"), fwd, _RefusesBwd(), FAST, METER)
    assert ok.status == "ok"


class _GradAwareBackend(SoftmaxNaive):
    """Reports a backend that depends on requires_grad, as CUDA SDPA selection does."""

    def backend(self, inputs: Inputs, case: Case) -> str:
        return "sdpa.math" if inputs["q"].requires_grad else "sdpa.flash"


@pytest.mark.parametrize(("pass_", "expected"), [("fwd", "sdpa.flash"), ("fwd_bwd", "sdpa.math")])
def test_backend_is_asked_with_the_inputs_in_their_timed_state(pass_: str, expected: str) -> None:
    case = Case(1, 2, 16, 8, False, "fp32", {}, "softmax.naive", pass_)
    r = measure_case(_GradAwareBackend(), case, CpuDevice(), FAST, METER)
    assert r.status == "ok", r.reason
    assert r.backend == expected
    assert ("BACKEND_FALLBACK" in r.warnings) is (expected == "sdpa.math")


def test_labels_say_in_which_mode_each_metric_was_taken() -> None:
    case = Case(1, 2, 16, 8, False, "fp32", {}, "softmax.naive", "fwd")
    r = measure_case(variants.get("softmax.naive"), case, CpuDevice(), FAST, METER)
    assert r.models["time_mode"] == "eager"
    assert r.models["memory_mode"] == "eager_one_call"
    assert r.models["energy_mode"] == "eager"


def _flex(name: str) -> tuple[Case, object]:
    pytest.importorskip("torch.nn.attention.flex_attention")
    return Case(1, 2, 64, 16, True, "fp32", {}, name, "fwd"), variants.get(name)


def test_recompile_counter_sees_a_grad_mode_change() -> None:
    """The counter the harness stores does catch the bug (compile under no_grad, time with grad)."""
    case, v = _flex("softmax.flex")
    inputs = v.make_inputs(case)  # type: ignore[attr-defined]
    with torch.no_grad():
        v(inputs, case)  # type: ignore[operator]
    before = compile_count()
    v(inputs, case)  # type: ignore[operator]
    assert compile_count() - before == 1


@pytest.mark.parametrize("name", ["softmax.flex", "cog.flex"])
def test_flex_compiles_in_setup_and_never_recompiles_while_timed(name: str) -> None:
    torch._dynamo.reset()  # a fresh cache: the shape was compiled by no earlier test
    case, v = _flex(name)
    r = measure_case(v, case, CpuDevice(), FAST, METER)  # type: ignore[arg-type]
    assert r.status == "ok", r.reason
    assert r.metrics["compile/setup_compiles"] >= 1
    assert r.metrics["compile/recompiles"] == 0
    assert "RECOMPILED" not in r.warnings


def test_flex_variants_keep_separate_recompile_budgets() -> None:
    from torch._dynamo.eval_frame import _debug_get_cache_entry_list

    from attnbench.variants.cog import _cog_flex_entry
    from attnbench.variants.softmax import _softmax_flex_entry

    torch._dynamo.reset()
    for name in ("softmax.flex", "cog.flex"):
        case, v = _flex(name)
        v.setup(v.make_inputs(case), case)  # type: ignore[attr-defined]
    assert len(_debug_get_cache_entry_list(_softmax_flex_entry)) == 1
    assert len(_debug_get_cache_entry_list(_cog_flex_entry)) == 1
