"""Dipole v1 and v2 vs their float64 references, the V3/V4 oracles, FLOPs."""

from __future__ import annotations

import pytest
import torch

from attnbench import Case, variants
from tests.variants.helpers import assert_gradients_match, within_tolerance

NAMES = ["dipole.v1", "dipole.v2"]


def close(name: str, case: Case) -> bool:
    return within_tolerance(name, case, seed=3)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [1, 64, 127])
def test_matches_reference_fp32(name: str, causal: bool, n: int) -> None:
    assert close(name, Case(2, 3, n, 16, causal, "fp32", {}, name))


@pytest.mark.parametrize("name", NAMES)
def test_matches_reference_bf16(name: str) -> None:
    assert close(name, Case(1, 2, 130, 32, True, "bf16", {}, name))


def test_v1_small_blocks_and_v2_branch_weights() -> None:
    params = {"block_q": 5, "block_k": 11}
    assert close("dipole.v1", Case(1, 2, 61, 8, True, "fp32", params, head_dim_v=12))
    assert close("dipole.v2", Case(1, 2, 61, 8, True, "fp32", {"alpha": 0.3, "beta": -2.0}))


def inputs_for(name: str, case: Case) -> dict[str, torch.Tensor]:
    return variants.get(name).make_inputs(case, seed=0)


@pytest.mark.parametrize("causal", [False, True])
def test_v1_with_v2_minus_v_equals_cog(causal: bool) -> None:
    case = Case(1, 2, 77, 16, causal, "fp32")
    inputs = inputs_for("dipole.v1", case)
    inputs["v2"] = -inputs["v"]
    cog = variants.get("cog.naive")(inputs, case)
    assert torch.allclose(variants.get("dipole.v1")(inputs, case), cog, atol=1e-6)


def test_v1_with_v2_equal_v_is_softmax_of_abs_scores() -> None:
    case = Case(1, 2, 77, 16, True, "fp32")
    inputs = inputs_for("dipole.v1", case)
    inputs["v2"] = inputs["v"].clone()
    q, k, v = (inputs[x].double() for x in "qkv")
    s = (q @ k.transpose(-1, -2) / 4.0).abs()
    s = s.masked_fill(torch.ones(77, 77, dtype=torch.bool).triu(1), float("-inf"))
    expected = torch.softmax(s, -1) @ v
    assert torch.allclose(variants.get("dipole.v1")(inputs, case).double(), expected, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_masked_entries_have_zero_weight(name: str) -> None:
    case = Case(
        1, 2, 50, 16, True, "fp32", {"block_q": 8, "block_k": 8} if name == "dipole.v1" else {}
    )
    v = variants.get(name)
    inputs = v.make_inputs(case, seed=0)
    before = v(inputs, case)
    future = dict(inputs)
    for key in ("v", "v2", "k"):
        future[key] = inputs[key].clone()
        future[key][..., 30:, :] += 1e3
    after = v(future, case)
    assert torch.equal(after[..., :30, :], before[..., :30, :])


def test_v2_alpha_one_beta_zero_is_softmax() -> None:
    case = Case(1, 2, 70, 16, True, "fp32", {"alpha": 1.0, "beta": 0.0})
    inputs = inputs_for("dipole.v2", case)
    soft = variants.get("softmax.naive")(inputs, case.replace(params={}))
    assert torch.allclose(variants.get("dipole.v2")(inputs, case), soft, atol=1e-6)


def test_v2_sign_swap_symmetry() -> None:
    case = Case(1, 2, 70, 16, True, "fp32", {"alpha": 0.7, "beta": 1.9})
    swapped = case.replace(params={"alpha": 1.9, "beta": 0.7})
    v = variants.get("dipole.v2")
    inputs = v.make_inputs(case, seed=0)
    mirror = {"q": -inputs["q"], "k": inputs["k"], "v": inputs["v2"], "v2": inputs["v"]}
    assert torch.allclose(v(mirror, swapped), v(inputs, case), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_match_reference(name: str) -> None:
    params = {"block_q": 16, "block_k": 8} if name == "dipole.v1" else {"beta": 0.5}
    assert_gradients_match(name, Case(1, 2, 37, 8, True, "fp32", params), atol=1e-4)


def test_flops_and_exps() -> None:
    # B2 H4 N100 D32 causal, both skip masked work: pairs = 100*101/2 = 5050.
    case = Case(2, 4, 100, 32, True, "fp32")
    # v1: QK^T 2*8*5050*32 = 2_585_600 + two PV products 2*2*8*5050*32 = 5_171_200
    assert variants.get("dipole.v1").flops(case) == 7_756_800
    # v2: two SDPA calls of 2*8*5050*(32+32) = 5_171_200 each
    assert variants.get("dipole.v2").flops(case) == 10_342_400
    assert variants.get("dipole.v2").exp_count(case) == 2 * 8 * 5050
    assert variants.get("dipole.v1").exp_count(case) == 8 * 5050
