"""Primal-Attention (V6): references, the oracles of variants.md and the cost models."""

from __future__ import annotations

import pytest
import torch

from attnbench import Case, variants
from attnbench.variants.primal import landmark_count, landmark_indices
from tests.variants.helpers import MaxNumel, within_tolerance


def check(name: str, case: Case) -> None:
    assert within_tolerance(name, case, seed=1)


@pytest.mark.parametrize("n", [1, 7, 127, 509])
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_landmark_matches_reference(n: int, dtype: str) -> None:
    check("primal.landmark", Case(2, 3, n, 16, dtype=dtype, params={"landmarks": 50, "rank": 6}))


@pytest.mark.parametrize("n", [1, 127, 509])
@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_causal_matches_reference(n: int, dtype: str) -> None:
    check("primal.causal", Case(2, 3, n, 16, causal=True, dtype=dtype))


def test_value_width_follows_w_c() -> None:
    check("primal.landmark", Case(1, 2, 64, 16, head_dim_v=8))


def test_default_is_landmark_and_params() -> None:
    v = variants.get("primal")
    assert v.info.name == "primal.landmark"
    assert v.defaults() == {"rank": 20, "landmarks": 200}


def test_landmark_indices_evenly_spaced_and_all_tokens_when_short() -> None:
    assert landmark_indices(10, 20).tolist() == list(range(10))
    idx = landmark_indices(1000, 7)
    assert idx.tolist() == torch.linspace(0, 999, 7).long().tolist()
    assert landmark_indices(5, 1).tolist() == [0]
    assert landmark_count(Case(1, 1, 150, 8), 200) == 150


def test_extra_input_shapes_and_orthogonality() -> None:
    case = Case(2, 3, 300, 16, params={"rank": 5, "landmarks": 40})
    inputs = variants.get("primal.landmark").make_inputs(case)
    assert inputs["x"].shape == (2, 300, 48)
    assert inputs["w_e"].shape == inputs["w_r"].shape == (3, 40, 5)
    assert inputs["w_c"].shape == (16, 10) and inputs["b_c"].shape == (16,)
    gram = inputs["w_e"].transpose(-2, -1) @ inputs["w_e"]
    torch.testing.assert_close(gram, torch.eye(5).expand(3, 5, 5), atol=1e-5, rtol=0)
    causal = variants.get("primal.causal").make_inputs(case.replace(causal=True))
    assert causal["w_e"].shape == (3, 16, 5) and "x" not in causal


@pytest.mark.parametrize("key", ["q", "k"])
def test_landmark_invariant_to_positive_row_rescaling(key: str) -> None:
    case = Case(1, 2, 100, 16, params={"landmarks": 30})
    v = variants.get("primal.landmark")
    inputs = v.make_inputs(case)
    scaled = dict(inputs)
    scaled[key] = inputs[key] * (torch.rand(1, 2, 100, 1) * 10 + 0.1)
    torch.testing.assert_close(v(scaled, case), v(inputs, case), atol=1e-5, rtol=1e-5)


def test_causal_is_not_rescaling_invariant() -> None:
    case = Case(1, 2, 100, 16, causal=True)
    v = variants.get("primal.causal")
    inputs = v.make_inputs(case)
    scaled = dict(inputs, q=inputs["q"] * (torch.rand(1, 2, 100, 1) * 10 + 0.1))
    assert not torch.allclose(v(scaled, case), v(inputs, case), atol=1e-3)


def test_token_locality() -> None:
    case = Case(1, 2, 300, 16, params={"landmarks": 30})
    v = variants.get("primal.landmark")
    inputs = v.make_inputs(case)
    marks = set(landmark_indices(300, 30).tolist())
    j = next(t for t in range(1, 300) if t not in marks)
    moved = {key: t.clone() for key, t in inputs.items()}
    for key in ("q", "k", "v"):
        moved[key][:, :, j] += 3.0
    moved["x"][:, j] += 3.0
    before, after = v(inputs, case), v(moved, case)
    keep = [i for i in range(300) if i != j]
    torch.testing.assert_close(after[:, :, keep], before[:, :, keep], atol=1e-6, rtol=1e-6)
    assert not torch.allclose(after[:, :, j], before[:, :, j])
    landmark = sorted(marks)[3]
    moved["x"][:, landmark] += 3.0
    assert not torch.allclose(v(moved, case)[:, :, keep], before[:, :, keep])


def test_causal_prefix_unchanged_by_future_tokens() -> None:
    case = Case(2, 2, 127, 16, causal=True)
    v = variants.get("primal.causal")
    inputs = v.make_inputs(case)
    p = 60
    moved = {key: t.clone() for key, t in inputs.items()}
    moved["q"][:, :, p:] = torch.randn(2, 2, 127 - p, 16)
    moved["k"][:, :, p:] *= -2.0
    before, after = v(inputs, case), v(moved, case)
    torch.testing.assert_close(after[:, :, :p], before[:, :, :p], atol=0, rtol=0)
    assert not torch.allclose(after[:, :, p:], before[:, :, p:])


def test_non_causal_rejects_causal_and_vice_versa() -> None:
    assert "future" in (
        variants.get("primal.landmark").unsupported(Case(1, 1, 8, 8, causal=True)) or ""
    )
    assert "causal" in (variants.get("primal.causal").unsupported(Case(1, 1, 8, 8)) or "")


@pytest.mark.parametrize("name,causal", [("primal.landmark", False), ("primal.causal", True)])
def test_no_n_by_n_tensor_and_linear_memory(name: str, causal: bool) -> None:
    n = 1024
    case = Case(1, 1, n, 16, causal=causal, params={"rank": 4})
    v = variants.get(name)
    inputs = v.make_inputs(case)
    with MaxNumel() as mode:
        v(inputs, case)
    assert mode.largest < n * n // 8
    small, big = v.memory_bytes(case), v.memory_bytes(case.replace(seq_len=2 * n))
    assert 1.8 < big / small < 2.1


def test_backward_reaches_q_k_x() -> None:
    case = Case(1, 2, 33, 8, params={"landmarks": 9, "rank": 3}, pass_="fwd_bwd")
    v = variants.get("primal.landmark")
    inputs = {k: t.requires_grad_() for k, t in v.make_inputs(case).items()}
    v(inputs, case).square().sum().backward()
    for key in v.info.grad_inputs:
        grad = inputs[key].grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_flops_by_hand() -> None:
    # B=1, H=2, N=300, D=Dv=16, s=4, M=10:
    # scores 4BHNDs = 4*2*300*16*4 = 153600; W_c mix 4BHNsDv = 153600; W_e, W_r 4BHDMs
    # = 4*2*16*10*4 = 5120; total 312320. Causal: 153600 + 153600 = 307200.
    case = Case(1, 2, 300, 16, params={"rank": 4, "landmarks": 10})
    assert variants.get("primal.landmark").forward_flops(case) == 312320
    causal = Case(1, 2, 300, 16, causal=True, params={"rank": 4})
    assert variants.get("primal.causal").forward_flops(causal) == 307200
    assert variants.get("primal.landmark").exp_count(case) == 2 * 2 * 300
