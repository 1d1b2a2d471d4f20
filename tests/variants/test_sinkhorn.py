"""Sinkhorn attention (V9): references, oracles, streaming memory and cost models."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from attnbench import Case, variants
from attnbench.variants.base import naive_softmax_attention
from attnbench.variants.sinkhorn import sinkhorn_plan, sinkhorn_streaming
from tests.variants.helpers import MaxNumel, within_tolerance


def check(name: str, case: Case) -> None:
    assert within_tolerance(name, case, seed=2)


@pytest.mark.parametrize("name", ["sinkhorn.naive", "sinkhorn.streaming"])
@pytest.mark.parametrize("n", [1, 127, 300])
@pytest.mark.parametrize("iters", [1, 4, 5])
def test_matches_reference_fp32(name: str, n: int, iters: int) -> None:
    params: dict[str, Any] = {"iters": iters}
    if name.endswith("streaming"):
        params["block"] = 64
    check(name, Case(2, 3, n, 16, params=params))


@pytest.mark.parametrize("name", ["sinkhorn.naive", "sinkhorn.streaming"])
def test_matches_reference_bf16(name: str) -> None:
    check(name, Case(1, 2, 127, 32, dtype="bf16", head_dim_v=16))


def test_one_iteration_is_softmax() -> None:
    case = Case(2, 2, 100, 16, params={"iters": 1})
    inputs = variants.get("sinkhorn.naive").make_inputs(case)
    expected = naive_softmax_attention(inputs["q"], inputs["k"], inputs["v"], False)
    for name in ("sinkhorn.naive", "sinkhorn.streaming"):
        torch.testing.assert_close(variants.get(name)(inputs, case), expected)


def test_many_iterations_doubly_stochastic() -> None:
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 2, 50, 16, generator=gen), torch.randn(2, 2, 50, 16, generator=gen)
    plan = sinkhorn_plan(q.double(), k.double(), iters=301)
    ones = torch.ones(2, 2, 50, dtype=torch.float64)
    torch.testing.assert_close(plan.sum(-1), ones, atol=1e-12, rtol=0)
    torch.testing.assert_close(plan.sum(-2), ones, atol=1e-6, rtol=0)
    early = sinkhorn_plan(q.double(), k.double(), iters=1).sum(-2)
    assert (early - 1).abs().max() > (plan.sum(-2) - 1).abs().max()


def test_symmetric_scores_give_symmetric_plan() -> None:
    q = torch.randn(1, 1, 40, 8, dtype=torch.float64)
    plan = sinkhorn_plan(q, q, iters=400)
    torch.testing.assert_close(plan, plan.transpose(-2, -1), atol=1e-6, rtol=0)


@pytest.mark.parametrize("iters", [1, 2, 3, 6])
@pytest.mark.parametrize("block", [1, 13, 128, 1000])
def test_streaming_equals_naive(iters: int, block: int) -> None:
    case = Case(1, 2, 127, 16, params={"iters": iters})
    inputs = variants.get("sinkhorn.naive").make_inputs(case)
    naive = variants.get("sinkhorn.naive")(inputs, case)
    streaming = sinkhorn_streaming(inputs["q"], inputs["k"], inputs["v"], iters, block)
    torch.testing.assert_close(streaming, naive, atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ["sinkhorn.naive", "sinkhorn.streaming"])
def test_permutation_equivariance(name: str) -> None:
    case = Case(1, 2, 64, 16, params={"iters": 4})
    v = variants.get(name)
    inputs = v.make_inputs(case)
    perm = torch.randperm(64)
    permuted = {key: t[:, :, perm] for key, t in inputs.items()}
    torch.testing.assert_close(v(permuted, case), v(inputs, case)[:, :, perm])


@pytest.mark.parametrize("name", ["sinkhorn.naive", "sinkhorn.streaming"])
def test_causal_rejected(name: str) -> None:
    v = variants.get(name)
    assert not v.info.causal
    why = v.unsupported(Case(1, 1, 16, 8, causal=True))
    assert why is not None and "identity" in why
    assert v.unsupported(Case(1, 1, 16, 8)) is None


def test_streaming_holds_no_n_by_n_tensor() -> None:
    n = 1024
    case = Case(1, 1, n, 16, params={"iters": 4, "block": 64})
    v = variants.get("sinkhorn.streaming")
    inputs = v.make_inputs(case)
    with MaxNumel() as mode:
        v(inputs, case)
    assert mode.largest <= 64 * n
    with MaxNumel() as naive:
        variants.get("sinkhorn.naive")(inputs, case.replace(params={"iters": 4}))
    assert naive.largest >= n * n
    assert v.memory_bytes(case.replace(seq_len=2 * n)) / v.memory_bytes(case) < 2.1


def test_streaming_backward_matches_naive() -> None:
    case = Case(1, 2, 37, 8, params={"iters": 3}, pass_="fwd_bwd")
    base = variants.get("sinkhorn.naive").make_inputs(case)
    grads = []
    for fn in (
        lambda i: variants.get("sinkhorn.naive")(i, case),
        lambda i: sinkhorn_streaming(i["q"], i["k"], i["v"], 3, 8),
    ):
        inputs = {k: t.clone().requires_grad_() for k, t in base.items()}
        fn(inputs).square().sum().backward()
        grads.append([inputs[k].grad for k in ("q", "k", "v")])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_flops_and_exps_by_hand() -> None:
    # B=1, H=2, N=100, D=Dv=16: one S recompute = 2*B*H*N^2*D = 2*2*10000*16 = 640000 = PV.
    case = Case(1, 2, 100, 16, params={"iters": 5})
    # naive: S once + PV = 4BHN^2D = 1280000
    assert variants.get("sinkhorn.naive").forward_flops(case) == 1_280_000
    # streaming, odd iters=5: (2*5 + 2)BHN^2D = 12 * 320000 = 3840000 (last row step fused)
    assert variants.get("sinkhorn.streaming").forward_flops(case) == 3_840_000
    # even iters=4: (2*4 + 4)BHN^2D = 3840000; iters=2: 8 * 320000 = 2560000
    even = case.replace(params={"iters": 4})
    assert variants.get("sinkhorn.streaming").forward_flops(even) == 3_840_000
    two = case.replace(params={"iters": 2})
    assert variants.get("sinkhorn.streaming").forward_flops(two) == 2_560_000
    # exps: (iters + 1) * B*H*N^2 = 6 * 20000 = 120000
    assert variants.get("sinkhorn.naive").exp_count(case) == 120_000
    assert variants.get("sinkhorn.streaming").exp_count(case) == 120_000
