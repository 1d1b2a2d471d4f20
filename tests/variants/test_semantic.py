"""Semantic attention: bias and fused forms vs the float64 reference, V10 oracles, FLOPs."""

from __future__ import annotations

import pytest
import torch

from attnbench import Case, variants
from tests.variants.helpers import assert_gradients_match, within_tolerance

NAMES = ["semantic.bias", "semantic.fused"]


def close(name: str, case: Case) -> bool:
    x = variants.get(name).make_inputs(case, seed=3)["x"]
    assert x.shape == (case.batch, case.seq_len, case.heads * case.head_dim)
    return within_tolerance(name, case, seed=3)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [1, 64, 127])
def test_matches_reference_fp32(name: str, causal: bool, n: int) -> None:
    assert close(name, Case(2, 3, n, 16, causal, "fp32", {"tau": 2.5}, name))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_matches_reference_low_precision(name: str, dtype: str) -> None:
    assert close(name, Case(1, 2, 130, 32, True, dtype, {}, name))


@pytest.mark.parametrize("name", NAMES)
def test_tau_zero_is_softmax(name: str) -> None:
    case = Case(1, 2, 64, 16, True, "fp32", {"tau": 0.0})
    inputs = variants.get(name).make_inputs(case, seed=0)
    soft = variants.get("softmax.naive")(inputs, case.replace(params={}))
    assert torch.allclose(variants.get(name)(inputs, case), soft, atol=1e-6)


@pytest.mark.parametrize("causal", [False, True])
def test_fused_equals_bias(causal: bool) -> None:
    case = Case(2, 2, 75, 16, causal, "fp32", {"tau": -1.5})
    inputs = variants.get("semantic.bias").make_inputs(case, seed=0)
    bias = variants.get("semantic.bias")(inputs, case)
    assert torch.allclose(variants.get("semantic.fused")(inputs, case), bias, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_identical_rows_of_x_give_softmax(name: str) -> None:
    case = Case(1, 2, 64, 16, True, "fp32", {"tau": 3.0})
    inputs = variants.get(name).make_inputs(case, seed=0)
    inputs["x"] = inputs["x"][:, :1].expand_as(inputs["x"]).clone()
    soft = variants.get("softmax.naive")(inputs, case.replace(params={}))
    assert torch.allclose(variants.get(name)(inputs, case), soft, atol=1e-5)


def test_gradients_match_reference() -> None:
    case = Case(1, 2, 37, 8, True, "fp32", {"tau": 1.5}, "semantic.bias")
    assert_gradients_match("semantic.bias", case)


def test_flops() -> None:
    # B2 H4 N100 D32 (d_model = 128), not causal.
    case = Case(2, 4, 100, 32, False, "fp32")
    # bias: C = 2*B*N^2*d_model = 2*2*10_000*128 = 5_120_000; SDPA 4*B*H*N^2*D = 10_240_000
    assert variants.get("semantic.bias").flops(case) == 15_360_000
    # fused: 2*B*H*N^2*(D + d_model + Dv) = 2*8*10_000*192 = 30_720_000
    assert variants.get("semantic.fused").flops(case) == 30_720_000
    # causal: bias form skips nothing; fused halves to pairs 5050: 2*8*5050*192 = 15_513_600
    assert variants.get("semantic.bias").flops(case.replace(causal=True)) == 15_360_000
    assert variants.get("semantic.fused").flops(case.replace(causal=True)) == 15_513_600
