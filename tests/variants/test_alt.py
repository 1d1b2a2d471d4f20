"""AttentionAlt: the float64 reference, W = sqrt(d_k) I, multiplication orders, FLOPs."""

from __future__ import annotations

import pytest
import torch

from attnbench import Case, variants
from tests.variants.helpers import assert_gradients_match, within_tolerance

NAME = "alt.naive"


def close(case: Case) -> bool:
    return within_tolerance(NAME, case, seed=3, width=case.params.get("d_out", case.dv))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [1, 64, 127])
@pytest.mark.parametrize("params", [{}, {"d_out": 8}, {"d_out": 40}])
def test_matches_reference_fp32(causal: bool, n: int, params: dict[str, int]) -> None:
    assert close(Case(2, 3, n, 16, causal, "fp32", params, NAME))


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_matches_reference_low_precision(dtype: str) -> None:
    assert close(Case(1, 2, 130, 32, True, dtype, {"d_out": 16}, NAME))


def test_w_sqrt_dk_identity_is_softmax() -> None:
    case = Case(1, 2, 67, 16, True, "fp32", {}, NAME)
    v = variants.get(NAME)
    inputs = v.make_inputs(case, seed=0)
    inputs["w"] = 4.0 * torch.eye(16).expand(2, 16, 16)
    soft = variants.get("softmax.naive")(inputs, case)
    assert torch.allclose(v(inputs, case), soft, atol=1e-6)


@pytest.mark.parametrize("d_out", [8, 16, 40])
def test_orders_agree(d_out: int) -> None:
    v = variants.get(NAME)
    before = Case(1, 2, 67, 16, True, "fp32", {"d_out": d_out, "order": "before"})
    after = before.replace(params={"d_out": d_out, "order": "after"})
    inputs = v.make_inputs(before, seed=0)
    assert torch.allclose(v(inputs, before), v(inputs, after), atol=1e-6)


def test_shared_w_and_linearity_in_w() -> None:
    case = Case(1, 3, 30, 8, False, "fp32", {}, NAME)
    v = variants.get(NAME)
    inputs = v.make_inputs(case, seed=0)
    shared = dict(inputs, w=inputs["w"][0])
    per_head = dict(inputs, w=inputs["w"][0].expand(3, 8, 8))
    assert torch.allclose(v(shared, case), v(per_head, case))
    doubled = dict(inputs, w=2 * inputs["w"])
    assert torch.allclose(v(doubled, case), 2 * v(inputs, case), atol=1e-6)


def test_gradients_match_reference() -> None:
    assert_gradients_match(NAME, Case(1, 2, 37, 8, True, "fp32", {"d_out": 12}, NAME))


def test_flops() -> None:
    v = variants.get(NAME)
    # B2 H4 N100 D=Dv=32, D_out = Dv: SDPA 4*B*H*N^2*D = 4*8*10_000*32 = 10_240_000, plus
    # W after: 2*B*H*N*Dv*D_out = 2*8*100*32*32 = 1_638_400 -> 11_878_400.
    case = Case(2, 4, 100, 32, False, "fp32", {}, NAME)
    assert v.flops(case) == 11_878_400
    # D_out = 8 < Dv: W before, PV is 8 wide: 2*8*10_000*(32+8) + 2*8*100*32*8 = 6_809_600
    assert v.flops(case.replace(params={"d_out": 8})) == 6_809_600
