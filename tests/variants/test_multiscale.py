"""Multi-scale attention (V12): per-scale SDPA, fusion, looped vs batched oracle, costs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from attnbench import Case, variants
from attnbench.variants.multiscale import (
    MultiscaleBlocks,
    attend_batched,
    attend_looped,
    default_scales,
)
from tests.variants.helpers import within_tolerance


def check(case: Case) -> None:
    assert within_tolerance("multiscale.blocks", case, seed=5)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [1, 127, 300])
def test_matches_reference_fp32(causal: bool, n: int) -> None:
    check(Case(2, 2, n, 16, causal=causal))


def test_matches_reference_bf16_blog_width() -> None:
    check(Case(1, 6, 127, 64, dtype="bf16", causal=True))


def test_custom_scales_and_value_width() -> None:
    check(Case(1, 2, 65, 8, head_dim_v=4, params={"scales": [8, 24]}))


def test_default_scales() -> None:
    assert default_scales(384, 64) == [64, 128, 256, 384]
    assert default_scales(1024, 64) == [64, 128, 256, 384]
    assert default_scales(64, 32) == [32, 32, 32, 64]
    assert default_scales(128, 64) == [64, 64, 64, 128]
    v = MultiscaleBlocks()
    assert variants.get("multiscale").info.name == "multiscale.blocks"
    assert v.scales(Case(1, 6, 8, 64)) == [64, 128, 256, 384]
    assert v.scales(Case(1, 2, 8, 16, params={"scales": [16, 48]})) == [16, 48]


@pytest.mark.parametrize("causal", [False, True])
def test_looped_equals_batched_and_one_sdpa(causal: bool) -> None:
    scales, d = [64, 128, 256, 384], 64
    proj = torch.randn(2, 37, 3 * sum(scales))
    looped = attend_looped(proj, scales, d, causal)
    torch.testing.assert_close(attend_batched(proj, scales, d, causal), looped)
    # 13 heads at head dim 64, laid out scale by scale
    qkv = torch.cat(
        [
            p.view(2, 37, 3, s // d, d)
            for p, s in zip(proj.split([3 * s for s in scales], dim=-1), scales, strict=True)
        ],
        dim=3,
    ).permute(2, 0, 3, 1, 4)
    one = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=causal)
    assert one.shape[1] == 13
    torch.testing.assert_close(one.transpose(1, 2).reshape(2, 37, -1), looped)


def test_causal_outputs_ignore_the_future() -> None:
    case = Case(1, 2, 50, 16, causal=True)
    v = variants.get("multiscale.blocks")
    inputs = v.make_inputs(case)
    moved = {k: t.clone() for k, t in inputs.items()}
    moved["x"][:, 30:] += 1.0
    torch.testing.assert_close(v(moved, case)[:, :, :30], v(inputs, case)[:, :, :30])


def test_bad_scales_rejected() -> None:
    v = variants.get("multiscale.blocks")
    assert "multiple" in (v.unsupported(Case(1, 2, 8, 16, params={"scales": [16, 20]})) or "")
    assert "positive" in (v.unsupported(Case(1, 2, 8, 16, params={"scales": []})) or "")
    assert v.unsupported(Case(1, 2, 8, 16, params={"scales": [16, 32]})) is None


def test_flops_by_hand() -> None:
    # B=1, H=6, D=64 (d_model=384), N=100, scales 64+128+256+384 = 832:
    # attention 4BN^2*832 = 3328 * 10000 = 33280000
    # QKV projections 2BN*384*3*832 = 191692800; fusion 2BN*832*384 = 63897600
    v = variants.get("multiscale.blocks")
    assert v.forward_flops(Case(1, 6, 100, 64)) == 33_280_000 + 191_692_800 + 63_897_600
    # exps: 13 heads * N^2 = 130000
    assert v.exp_count(Case(1, 6, 100, 64)) == 130_000
