"""Functional-time attention: concat and fused forms vs float64 references, V7 oracles, FLOPs."""

from __future__ import annotations

import math

import pytest
import torch

from attnbench import Case, variants
from attnbench.variants.time import time_features
from tests.variants.helpers import assert_gradients_match, within_tolerance

NAMES = ["time.concat", "time.fused"]


def close(name: str, case: Case) -> bool:
    return within_tolerance(name, case, seed=3)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [1, 64, 127])
def test_matches_reference_fp32(name: str, causal: bool, n: int) -> None:
    assert close(name, Case(2, 3, n, 16, causal, "fp32", {"frequencies": 5}, name))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_matches_reference_low_precision(name: str, dtype: str) -> None:
    assert close(name, Case(1, 2, 130, 32, True, dtype, {}, name))


def test_timestamps_are_realistic_and_increasing() -> None:
    case = Case(2, 1, 50, 8)
    t = variants.get("time.fused").make_inputs(case, seed=0)["t"]
    assert t.dtype == torch.float64 and t.shape == (2, 50)
    assert (t > 1.69e9).all() and (t.diff(dim=-1) > 0).all()


def test_timestamps_keep_their_spacing_and_never_repeat() -> None:
    # float32 Unix times are multiples of 128 s: many gaps would be 0 or 128 s exactly
    case = Case(1, 1, 4096, 8)
    t = variants.get("time.concat").make_inputs(case, seed=3)["t"]
    gaps = t.diff(dim=-1)
    assert gaps.min().item() >= 1e-3 - 1e-6
    assert t.unique().numel() == t.numel()
    assert (torch.remainder(gaps, 128.0) != 0).float().mean().item() > 0.99


@pytest.mark.parametrize("name", NAMES)
def test_invariant_to_time_shift(name: str) -> None:
    case = Case(1, 2, 60, 16, True, "fp32", {"frequencies": 8})
    v = variants.get(name)
    inputs = v.make_inputs(case, seed=0)
    t64 = inputs["t"].double()
    shifted = dict(inputs, t=t64 + 12_345.678)
    assert torch.allclose(v(dict(inputs, t=t64), case), v(shifted, case), atol=1e-6)


def test_phases_keep_precision_at_unix_times() -> None:
    # one second apart at ~1.7e9 s with omega = 1 rad/s: fp32 absolute phases would collapse
    t = torch.tensor([[1.7e9, 1.7e9 + 1.0]], dtype=torch.float64)
    cos, _ = time_features(t, 1, torch.float32)
    assert cos[0, 0, 1, 0].item() == pytest.approx(math.cos(1.0), abs=1e-6)


def test_fused_equals_explicit_bias_sdpa() -> None:
    case = Case(1, 2, 70, 16, True, "fp32", {"frequencies": 4})
    v = variants.get("time.fused")
    inputs = v.make_inputs(case, seed=0)
    t = inputs["t"].double()
    dt = t[:, :, None] - t[:, None, :]
    w = 10.0 ** -torch.linspace(0.0, 8.0, 4, dtype=torch.float64)
    bias = torch.cos(dt[..., None] * w).sum(-1) / 4
    causal = torch.ones(70, 70, dtype=torch.bool).tril()
    mask = bias.masked_fill(~causal, float("-inf")).float()[:, None]
    expected = torch.nn.functional.scaled_dot_product_attention(
        inputs["q"], inputs["k"], inputs["v"], attn_mask=mask
    )
    assert torch.allclose(v(inputs, case), expected, atol=1e-5)


def test_concat_is_sdpa_on_concatenated_features() -> None:
    case = Case(1, 2, 40, 16, False, "fp32", {"frequencies": 3})
    v = variants.get("time.concat")
    inputs = v.make_inputs(case, seed=0)
    cos, sin = time_features(inputs["t"], 3, torch.float32)
    phi = torch.cat([cos, sin], -1).expand(1, 2, 40, 6)
    expected = torch.nn.functional.scaled_dot_product_attention(
        torch.cat([inputs["q"], phi], -1), torch.cat([inputs["k"], phi], -1), inputs["v"]
    )
    assert torch.allclose(v(inputs, case), expected, atol=1e-6)


def test_gradients_match_reference() -> None:
    case = Case(1, 2, 37, 8, True, "fp32", {"frequencies": 4}, "time.fused")
    assert_gradients_match("time.fused", case, keys=("q", "k", "v"))


def test_flops_and_exps() -> None:
    # B2 H4 N100 D32 m=16 causal (SDPA skips masked work): pairs 5050,
    # 2*B*H*pairs*((D + 2m) + Dv) = 2*8*5050*(64 + 32) = 7_756_800
    case = Case(2, 4, 100, 32, True, "fp32", {"frequencies": 16})
    for name in NAMES:
        assert variants.get(name).flops(case) == 7_756_800
        # exps: B*H*pairs = 40_400 plus sin/cos 2*B*N*m = 6_400
        assert variants.get(name).exp_count(case) == 46_800
