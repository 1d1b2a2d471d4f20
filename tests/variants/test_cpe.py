"""Continuous positional encoding (V11) in front of SDPA."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attnbench import Case, variants
from tests.variants.helpers import within_tolerance


def check(case: Case) -> None:
    assert within_tolerance("cpe.mlp", case, seed=4)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [1, 127, 509])
def test_matches_reference_fp32(causal: bool, n: int) -> None:
    check(Case(2, 3, n, 16, causal=causal))


@pytest.mark.parametrize("causal", [False, True])
def test_matches_reference_bf16(causal: bool) -> None:
    check(Case(1, 4, 127, 32, causal=causal, dtype="bf16"))


def test_inputs() -> None:
    case = Case(2, 3, 50, 16)
    inputs = variants.get("cpe").make_inputs(case)
    p = inputs["p"]
    assert p.shape == (2, 50) and p.dtype == torch.float32
    assert p.min() >= 0 and p.max() <= 1 and (p.diff(dim=-1) >= 0).all()
    assert inputs["w1"].shape == (64, 1) and inputs["w2"].shape == (48, 64)


@pytest.mark.parametrize("causal", [False, True])
def test_equals_manual_mlp_then_sdpa(causal: bool) -> None:
    case = Case(2, 3, 40, 8, causal=causal)
    inputs = variants.get("cpe.mlp").make_inputs(case)
    pre = inputs["p"][..., None] * inputs["w1"][:, 0] + inputs["b1"]  # [B, N, 64]
    hidden = 0.5 * pre * (1 + torch.erf(pre / math.sqrt(2)))  # exact GELU
    pe = hidden @ inputs["w2"].T + inputs["b2"]  # [B, N, H*D]
    pe_heads = pe.reshape(2, 40, 3, 8).permute(0, 2, 1, 3)
    expected = F.scaled_dot_product_attention(
        inputs["q"] + pe_heads, inputs["k"] + pe_heads, inputs["v"], is_causal=causal
    )
    torch.testing.assert_close(variants.get("cpe.mlp")(inputs, case), expected)


def test_positions_change_the_output() -> None:
    case = Case(1, 2, 30, 8)
    v = variants.get("cpe.mlp")
    inputs = v.make_inputs(case)
    moved = dict(inputs, p=inputs["p"].flip(-1))
    assert not torch.allclose(v(moved, case), v(inputs, case))


def test_flops_by_hand() -> None:
    # B=1, H=2, N=100, D=16 (d_model=32): MLP 2BN(64 + 64*32) = 200 * 2112 = 422400;
    # SDPA 4BHN^2D = 4*2*10000*16 = 1280000 -> 1702400.
    v = variants.get("cpe.mlp")
    assert v.forward_flops(Case(1, 2, 100, 16)) == 1_702_400
    # causal: N(N+1)/2 = 5050 pairs -> 2*B*H*5050*(D+Dv) = 2*2*5050*32 = 646400 (+ 422400)
    assert v.forward_flops(Case(1, 2, 100, 16, causal=True)) == 1_068_800
    # exps: BHN^2 softmax + 64BN GELU = 20000 + 6400
    assert v.exp_count(Case(1, 2, 100, 16)) == 26_400
