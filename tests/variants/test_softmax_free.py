"""Softmax-free attention: both orders vs the float64 reference, V13 oracles, FLOPs."""

from __future__ import annotations

import pytest
import torch

from attnbench import Case, variants
from tests.variants.helpers import output_and_reference

NAMES = ["softmax_free.linear", "softmax_free.quadratic"]


def close(name: str, case: Case) -> bool:
    out, ref, v = output_and_reference(name, case, seed=3)
    atol, rtol = v.tolerance(case.dtype)
    assert atol == 0.0  # purely relative: the output is unnormalised
    return float((out.double() - ref).abs().max()) <= rtol * float(ref.abs().max())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [1, 64, 127, 509])
def test_matches_reference_fp32(name: str, causal: bool, n: int) -> None:
    assert close(name, Case(2, 3, n, 16, causal, "fp32", {}, name))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_matches_reference_low_precision(name: str, dtype: str) -> None:
    assert close(name, Case(1, 2, 130, 32, True, dtype, {}, name))


@pytest.mark.parametrize("chunk", [1, 7, 16, 200])
def test_chunked_causal_equals_masked_quadratic(chunk: int) -> None:
    case = Case(1, 2, 101, 8, True, "fp32", {"chunk": chunk}, head_dim_v=12)
    inputs = variants.get("softmax_free.linear").make_inputs(case, seed=0)
    q, k, v = (inputs[x].double() for x in "qkv")
    masked = (q @ k.transpose(-1, -2)).tril() @ v
    out = variants.get("softmax_free.linear")(inputs, case).double()
    assert torch.allclose(out, masked, rtol=0, atol=1e-5 * float(masked.abs().max()))


@pytest.mark.parametrize("causal", [False, True])
def test_linear_equals_quadratic(causal: bool) -> None:
    case = Case(2, 2, 90, 16, causal, "fp32", {"block_q": 32})
    inputs = variants.get("softmax_free.quadratic").make_inputs(case, seed=0)
    quad = variants.get("softmax_free.quadratic")(inputs, case)
    lin = variants.get("softmax_free.linear")(inputs, case.replace(params={"chunk": 16}))
    assert torch.allclose(lin, quad, rtol=0, atol=1e-5 * float(quad.abs().max()))


@pytest.mark.parametrize("name", NAMES)
def test_gradients_match_reference(name: str) -> None:
    case = Case(1, 2, 37, 8, True, "fp32", {"chunk": 8} if "linear" in name else {"block_q": 8})
    v = variants.get(name)
    inputs = {k: t.requires_grad_(True) for k, t in v.make_inputs(case, seed=2).items()}
    grads = torch.autograd.grad(v(inputs, case).square().sum(), list(inputs.values()))
    ref_in = {k: t.detach().double().requires_grad_(True) for k, t in inputs.items()}
    ref_grads = torch.autograd.grad(v.reference(ref_in, case).square().sum(), list(ref_in.values()))
    for g, r in zip(grads, ref_grads, strict=True):
        assert torch.allclose(g.double(), r, rtol=0, atol=1e-5 * float(r.abs().max()))


def test_flops_and_no_exps() -> None:
    # B2 H4 N100 D=Dv=32.
    case = Case(2, 4, 100, 32, False, "fp32")
    lin, quad = variants.get("softmax_free.linear"), variants.get("softmax_free.quadratic")
    # linear: K^T V 2*B*H*N*D*Dv = 1_638_400, Q state the same -> 3_276_800
    assert lin.flops(case) == 3_276_800
    # quadratic: 4*B*H*N^2*D = 4*8*10_000*32 = 10_240_000
    assert quad.flops(case) == 10_240_000
    # causal chunked, C = 16: N' = 112 (7 chunks); 4*8*112*32*32 = 3_670_016 (states)
    # + intra 2*8*112*16*(32+32) = 1_835_008 -> 5_505_024
    assert lin.flops(case.replace(causal=True, params={"chunk": 16})) == 5_505_024
    assert lin.exp_count(case) == 0 and quad.exp_count(case) == 0
