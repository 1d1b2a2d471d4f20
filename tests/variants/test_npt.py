"""NPT attention between datapoints (ABD) and attributes (ABA): mapping, oracles, costs."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attnbench import Case, variants
from attnbench.variants.npt import from_attributes, to_attributes
from tests.variants.helpers import within_tolerance


def check(name: str, case: Case) -> None:
    assert within_tolerance(name, case, seed=3)


@pytest.mark.parametrize("name", ["npt.abd", "npt.aba"])
@pytest.mark.parametrize("n", [1, 127, 509])
def test_matches_reference_fp32(name: str, n: int) -> None:
    check(name, Case(2, 4, n, 16))


@pytest.mark.parametrize("name", ["npt.abd", "npt.aba"])
def test_matches_reference_fp16(name: str) -> None:
    check(name, Case(1, 8, 127, 64, dtype="fp16"))


def test_abd_is_sdpa_with_full_width_scale() -> None:
    case = Case(1, 8, 100, 24)
    inputs = variants.get("npt.abd").make_inputs(case)
    q, k, v = inputs["q"], inputs["k"], inputs["v"]
    expected = F.scaled_dot_product_attention(q, k, v, scale=1 / math.sqrt(8 * 24))
    torch.testing.assert_close(variants.get("npt.abd")(inputs, case), expected)
    # the quirk: the standard 1/sqrt(D) scale divided by sqrt(H)
    soft = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(24) / math.sqrt(8), dim=-1) @ v
    torch.testing.assert_close(variants.get("npt.abd")(inputs, case), soft, atol=1e-5, rtol=1e-5)


def test_aba_is_attention_over_attributes_of_each_datapoint() -> None:
    # H=2, D=6, attributes d=3: each datapoint row has d*e = 12 channels, e = 4, e/H = 2.
    case = Case(2, 2, 5, 6, params={"attributes": 3})
    v = variants.get("npt.aba")
    inputs = v.make_inputs(case)
    out = v(inputs, case)
    rows = {
        key: t.permute(0, 2, 1, 3).reshape(2, 5, 3, 4)
        for key, t in inputs.items()
        if key in ("q", "k", "v")
    }  # [B, n, d, e]
    expected = torch.empty(2, 5, 3, 4)
    for b in range(2):
        for i in range(5):
            for h in range(2):
                sl = slice(2 * h, 2 * h + 2)
                qh, kh, vh = (rows[key][b, i, :, sl] for key in ("q", "k", "v"))
                p = torch.softmax(qh @ kh.T / math.sqrt(4), dim=-1)  # scale 1/sqrt(e)
                expected[b, i, :, sl] = p @ vh
    expected_heads = expected.reshape(2, 5, 2, 6).permute(0, 2, 1, 3)
    torch.testing.assert_close(out, expected_heads, atol=1e-6, rtol=1e-5)


def test_attribute_reshape_round_trip() -> None:
    t = torch.randn(2, 4, 7, 8)
    a = to_attributes(t, 4)
    assert a.shape == (14, 4, 4, 2)
    torch.testing.assert_close(from_attributes(a, 2, 4), t, atol=0, rtol=0)


@pytest.mark.parametrize("name", ["npt.abd", "npt.aba"])
def test_permuting_datapoints_permutes_output(name: str) -> None:
    case = Case(1, 4, 50, 16)
    v = variants.get(name)
    inputs = v.make_inputs(case)
    perm = torch.randperm(50)
    permuted = {key: t[:, :, perm] for key, t in inputs.items()}
    torch.testing.assert_close(v(permuted, case), v(inputs, case)[:, :, perm])


def test_aba_permuting_attributes_permutes_output() -> None:
    case = Case(1, 2, 10, 8, params={"attributes": 4})
    v = variants.get("npt.aba")
    inputs = v.make_inputs(case)
    perm = torch.tensor([2, 0, 3, 1])

    def shuffle(t: torch.Tensor) -> torch.Tensor:
        a = to_attributes(t, 4)
        return from_attributes(a[:, :, perm], 1, 2)

    permuted = {key: shuffle(t) for key, t in inputs.items()}
    torch.testing.assert_close(v(permuted, case), shuffle(v(inputs, case)))


def test_causal_rejected_and_aba_shape_rules() -> None:
    for name in ("npt.abd", "npt.aba"):
        assert "permutation" in (
            variants.get(name).unsupported(Case(1, 8, 16, 64, causal=True)) or ""
        )
    aba = variants.get("npt.aba")
    assert aba.unsupported(Case(1, 8, 16, 64)) is None
    assert "divisible" in (aba.unsupported(Case(1, 8, 16, 12)) or "")
    assert "divisible" in (aba.unsupported(Case(1, 8, 16, 64, head_dim_v=4)) or "")


def test_flops_by_hand() -> None:
    # NPT defaults: n=100 datapoints, d=8 attributes, e=64, 8 heads -> H=8, D=d*e/H=64.
    case = Case(1, 8, 100, 64)
    # ABD: 4 n^2 (d e) = 4 * 100^2 * 512 = 20480000
    assert variants.get("npt.abd").forward_flops(case) == 20_480_000
    # ABA: 4 n d^2 e = 4 * 100 * 64 * 64 = 1638400; E = n d^2 H = 100*64*8 = 51200
    assert variants.get("npt.aba").forward_flops(case) == 1_638_400
    assert variants.get("npt.aba").exp_count(case) == 51_200
    assert variants.get("npt.abd").exp_count(case) == 8 * 100 * 100
