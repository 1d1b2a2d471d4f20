"""Cog attention: every implementation vs the float64 reference, the V5 oracles, FLOPs."""

from __future__ import annotations

import pytest
import torch

from attnbench import Case, variants
from tests.variants.helpers import output_and_reference

CPU_EAGER = ["cog.naive", "cog.streaming"]


def run(name: str, case: Case, seed: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """The variant's output and its float64 reference on the same seeded inputs."""
    out, ref, _ = output_and_reference(name, case, seed)
    return out, ref


def close(name: str, case: Case) -> bool:
    out, ref = run(name, case)
    atol, rtol = variants.get(name).tolerance(case.dtype)
    return float((out.double() - ref).abs().max()) <= atol + rtol * float(ref.abs().max())


@pytest.mark.parametrize("name", CPU_EAGER)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [1, 64, 127])
def test_matches_reference_fp32(name: str, causal: bool, n: int) -> None:
    assert close(name, Case(2, 3, n, 16, causal, "fp32", {}, name))


@pytest.mark.parametrize("name", CPU_EAGER)
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_matches_reference_low_precision(name: str, dtype: str) -> None:
    assert close(name, Case(1, 2, 130, 32, True, dtype, {}, name))


@pytest.mark.parametrize("causal", [False, True])
def test_streaming_small_ragged_blocks_equal_naive(causal: bool) -> None:
    params = {"block_q": 7, "block_k": 13}
    case = Case(1, 2, 100, 8, causal, "fp32", params, "cog.streaming", head_dim_v=24)
    stream = variants.get("cog.streaming")
    inputs = stream.make_inputs(case, seed=1)
    naive = variants.get("cog.naive")(inputs, case.replace(params={}, variant="cog.naive"))
    assert torch.allclose(stream(inputs, case), naive, atol=2e-6)


def test_streaming_gradients_match_reference() -> None:
    case = Case(1, 2, 45, 8, True, "fp32", {"block_q": 16, "block_k": 8}, "cog.streaming")
    v = variants.get("cog.streaming")
    inputs = {k: t.requires_grad_(True) for k, t in v.make_inputs(case, seed=2).items()}
    grads = torch.autograd.grad(v(inputs, case).square().sum(), list(inputs.values()))
    ref_in = {k: t.detach().double().requires_grad_(True) for k, t in inputs.items()}
    ref_grads = torch.autograd.grad(v.reference(ref_in, case).square().sum(), list(ref_in.values()))
    for g, r in zip(grads, ref_grads, strict=True):
        assert torch.allclose(g.double(), r, atol=1e-4, rtol=1e-4)


def test_equals_softmax_when_all_scores_positive() -> None:
    case = Case(1, 2, 64, 16, True, "fp32", {}, "cog.streaming")
    cog = variants.get("cog.streaming")
    inputs = cog.make_inputs(case, seed=0)
    inputs["q"], inputs["k"] = inputs["q"].abs(), inputs["k"].abs()
    soft = variants.get("softmax.naive")(inputs, case)
    for name in CPU_EAGER:
        assert torch.allclose(variants.get(name)(inputs, case), soft, atol=1e-6)


@pytest.mark.parametrize("name", CPU_EAGER)
def test_negating_keys_negates_output(name: str) -> None:
    case = Case(1, 2, 65, 16, True, "fp32", {}, name)
    v = variants.get(name)
    inputs = v.make_inputs(case, seed=0)
    flipped = dict(inputs, k=-inputs["k"])
    assert torch.allclose(v(flipped, case), -v(inputs, case), atol=1e-6)


def test_weights_have_unit_absolute_row_sum() -> None:
    # with V = I (N = Dv), the output rows are the weight rows W_i
    n = 32
    case = Case(1, 1, n, 8, True, "fp32", {}, "cog.naive", head_dim_v=n)
    v = variants.get("cog.naive")
    inputs = v.make_inputs(case, seed=0)
    inputs["v"] = torch.eye(n)[None, None]
    weights = v(inputs, case)
    assert torch.allclose(weights.abs().sum(-1), torch.ones(1, 1, n), atol=1e-6)
    assert (weights.triu(1) == 0).all()


def test_streaming_holds_no_n_by_n_block() -> None:
    v = variants.get("cog.streaming")
    case = Case(1, 8, 16384, 64, False, "fp32", {}, "cog.streaming")
    assert v.memory_bytes(case) < 4 * 8 * 16384 * 16384 // 20


@pytest.mark.slow
def test_flex_matches_reference() -> None:
    pytest.importorskip("torch.nn.attention.flex_attention")
    for causal in (False, True):
        assert close("cog.flex", Case(1, 2, 127, 16, causal, "fp32", {}, "cog.flex"))


def test_flops_and_exps() -> None:
    # B2 H4 N100 D32: QK^T 2*B*H*N^2*D = 2*2*4*100*100*32 = 5_120_000, PV the same.
    full = Case(2, 4, 100, 32, False, "fp32", {}, "cog.streaming")
    assert variants.get("cog.streaming").flops(full) == 10_240_000
    # causal streaming skips blocks: pairs 100*101/2 = 5050 -> 2*(2*4)*5050*(32+32) = 5_171_200
    assert variants.get("cog.streaming").flops(full.replace(causal=True)) == 5_171_200
    # the naive form computes the full matrix even when causal
    assert variants.get("cog.naive").flops(full.replace(causal=True)) == 10_240_000
    # flex runs over doubled keys: twice the work, twice the exponentials
    assert variants.get("cog.flex").flops(full) == 20_480_000
    assert variants.get("cog.flex").exp_count(full) == 2 * 2 * 4 * 100 * 100
    assert variants.get("cog.streaming").exp_count(full) == 2 * 4 * 100 * 100
