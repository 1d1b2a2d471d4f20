"""GQA, decoding, cross-attention and sliding windows: every capable variant against its float64
reference, and the references against masks written out here, row by row (bottom-right)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attnbench import Case, variants
from attnbench.measure.check import check_case, reduced_case
from tests.variants.helpers import MaxNumel, output_and_reference

SOFTMAX = ["softmax.naive", "softmax.sdpa", "softmax.sdpa_math", "softmax.sdpa_flash",
           "softmax.streaming"]  # fmt: skip
CAPABLE = [*SOFTMAX, "cog.naive", "cog.streaming", "dipole.v1", "dipole.v2", "semantic.bias",
           "semantic.fused"]  # fmt: skip
SMALL_BLOCKS = {"softmax.streaming": {"block_q": 16, "block_k": 8},
                "cog.streaming": {"block_q": 8, "block_k": 16},
                "dipole.v1": {"block_q": 8, "block_k": 16}}  # fmt: skip

SHAPES = {  # name: (heads, heads_kv, seq_len, seq_len_kv, window)
    "gqa": (4, 2, 37, None, None),
    "mqa_decode": (4, 1, 1, 300, None),
    "gqa_decode": (8, 2, 1, 129, None),
    "cross": (2, None, 20, 77, None),
    "cross_more_queries": (2, None, 45, 30, None),  # unmasked only
    "window": (4, 2, 50, None, 7),
    "cross_window": (2, None, 10, 90, 13),
    "decode_window": (4, 1, 1, 200, 31),
}


def make_case(name: str, shape: str, causal: bool, dtype: str = "fp32") -> Case:
    heads, heads_kv, n, n_kv, window = SHAPES[shape]
    return Case(2, heads, n, 16, causal, dtype, SMALL_BLOCKS.get(name, {}), name,
                heads_kv=heads_kv, seq_len_kv=n_kv, window=window)  # fmt: skip


def cases_for(names: list[str]) -> list[tuple[str, str, bool]]:
    out = []
    for name in names:
        info = variants.get(name).info
        for shape, (_, _, n, n_kv, window) in SHAPES.items():
            if window is not None and not info.window:
                continue
            for causal in (False, True):
                if causal and n_kv is not None and n > n_kv:
                    continue
                out.append((name, shape, causal))
    return out


# ------------------------------------------------------ independent masks, written out here
def visible(i: int, j: int, n: int, n_kv: int, causal: bool, window: int | None) -> bool:
    """Key j visible to query i: query i sits at key position i + n_kv - n."""
    pos = i + n_kv - n
    if causal and j > pos:
        return False
    return window is None or (j >= pos - window and (causal or j <= pos + window))


def written_mask(case: Case) -> torch.Tensor:
    rows = [[visible(i, j, case.seq_len, case.nkv, case.causal, case.window)
             for j in range(case.nkv)] for i in range(case.seq_len)]  # fmt: skip
    return torch.tensor(rows, dtype=torch.bool)


def per_head(t: torch.Tensor, heads: int) -> torch.Tensor:
    """Key/value head h // (H / H_kv) for every query head h, by indexing."""
    index = torch.arange(heads) // (heads // t.shape[1])
    return t[:, index]


def written_reference(name: str, inputs: dict[str, torch.Tensor], case: Case) -> torch.Tensor:
    """The family's math in float64 with the mask above (no attnbench helper involved)."""
    x = {key: t.double() for key, t in inputs.items()}
    q, k, v = x["q"], per_head(x["k"], case.heads), per_head(x["v"], case.heads)
    s = q @ k.transpose(-1, -2) / math.sqrt(case.head_dim)
    keep = written_mask(case)
    family = name.split(".")[0]
    if family == "softmax":
        return torch.softmax(s.masked_fill(~keep, -math.inf), -1) @ v
    if family == "cog":
        return (torch.sign(s) * torch.softmax(s.abs().masked_fill(~keep, -math.inf), -1)) @ v
    if family == "dipole":
        v2 = per_head(x["v2"], case.heads)
        if name == "dipole.v1":
            a = torch.softmax(s.abs().masked_fill(~keep, -math.inf), -1)
            return (a * (s > 0)) @ v + (a * (s <= 0)) @ v2
        plus = torch.softmax(s.masked_fill(~keep, -math.inf), -1) @ v
        return plus + torch.softmax((-s).masked_fill(~keep, -math.inf), -1) @ v2
    assert family == "semantic"
    xq, xk = x["x"], x.get("x_kv", x["x"])
    cos = F.normalize(xq, dim=-1) @ F.normalize(xk, dim=-1).transpose(-1, -2)
    return torch.softmax((s + cos[:, None]).masked_fill(~keep, -math.inf), -1) @ v


@pytest.mark.parametrize(("name", "shape", "causal"), cases_for(CAPABLE))
def test_matches_reference_and_written_mask(name: str, shape: str, causal: bool) -> None:
    case = make_case(name, shape, causal)
    assert variants.get(name).unsupported(case) is None
    out, ref, v = output_and_reference(name, case)
    inputs = v.make_inputs(case, seed=3)
    assert inputs["k"].shape == (2, case.hkv, case.nkv, 16)
    assert float((out.double() - ref).abs().max()) < 2e-5
    assert float((ref - written_reference(name, inputs, case)).abs().max()) < 1e-10


@pytest.mark.parametrize("name", CAPABLE)
def test_decode_bf16(name: str) -> None:
    case = make_case(name, "mqa_decode", True, "bf16")
    out, ref, v = output_and_reference(name, case)
    atol, rtol = v.tolerance("bf16")
    assert float((out.double() - ref).abs().max()) <= atol + rtol * float(ref.abs().max())


@pytest.mark.parametrize("name", ["softmax.sdpa", "softmax.streaming", "cog.streaming",
                                  "dipole.v1", "dipole.v2", "semantic.fused"])  # fmt: skip
def test_gradients_match_reference_on_gqa_cross_window(name: str) -> None:
    shape = "cross_window" if variants.get(name).info.window else "cross"
    case = make_case(name, shape, True).replace(pass_="fwd_bwd", heads=4, heads_kv=2)
    result = check_case(variants.get(name), case, torch.device("cpu"), mode="full")
    assert result.passed, result.reason
    assert result.grad_max_rel is not None and result.grad_max_rel < 1e-4


def test_bottom_right_is_not_torchs_top_left() -> None:
    case = make_case("softmax.sdpa", "cross", True)
    v = variants.get("softmax.sdpa")
    inputs = v.make_inputs(case, seed=0)
    ours = v(inputs, case)
    q, k, val = inputs["q"], inputs["k"], inputs["v"]
    top_left = F.scaled_dot_product_attention(q, k, val, is_causal=True)
    assert not torch.allclose(ours, top_left, atol=1e-3)
    # bottom-right: the last query sees every key, exactly like unmasked attention
    full = F.scaled_dot_product_attention(q, k, val)
    assert torch.allclose(ours[..., -1, :], full[..., -1, :], atol=1e-6)
    assert not torch.allclose(ours[..., 0, :], full[..., 0, :], atol=1e-3)


@pytest.mark.parametrize("name", ["softmax.sdpa", "softmax.streaming", "cog.streaming"])
def test_causal_decoding_sees_the_whole_cache(name: str) -> None:
    case = make_case(name, "gqa_decode", True)
    v = variants.get(name)
    inputs = v.make_inputs(case, seed=0)
    assert torch.equal(v(inputs, case), v(inputs, case.replace(causal=False)))


@pytest.mark.parametrize("name", ["softmax.streaming", "cog.streaming", "dipole.v1"])
def test_streaming_kernels_share_kv_heads_without_copies(name: str) -> None:
    case = Case(1, 8, 1, 16, True, "fp32", {"block_k": 256}, name, heads_kv=1, seq_len_kv=4096)
    v = variants.get(name)
    inputs = v.make_inputs(case, seed=0)
    with MaxNumel() as seen, torch.no_grad():
        v(inputs, case)
    expanded = case.heads * case.nkv * case.head_dim  # k repeated to every query head
    assert seen.largest < expanded


@pytest.mark.parametrize("name", ["softmax.flex", "cog.flex"])
def test_flex_runs_gqa_cross_and_window(name: str) -> None:
    pytest.importorskip("torch.nn.attention.flex_attention")
    case = Case(1, 4, 64, 16, True, "fp32", {}, name, heads_kv=2, seq_len_kv=160, window=40)
    v = variants.get(name)
    inputs = v.make_inputs(case, seed=3)
    with torch.no_grad():
        out = v(inputs, case)
    ref = v.reference({k: t.double() for k, t in inputs.items()}, case)
    assert float((out.double() - ref).abs().max()) < 2e-5
    assert float((ref - written_reference(name, inputs, case)).abs().max()) < 1e-10


def test_every_variant_declares_its_shapes_and_rejects_the_rest() -> None:
    gqa = Case(1, 4, 16, 8, heads_kv=2)
    cross = Case(1, 4, 16, 8, seq_len_kv=32)
    window = Case(1, 4, 16, 8, window=4)
    for name in variants.names():
        v = variants.get(name)
        info = v.info
        for case, supported, word in ((gqa, info.gqa, "key/value heads"),
                                      (cross, info.cross, "as many keys as queries"),
                                      (window, info.window, "sliding window")):  # fmt: skip
            shape_why = v._shape_unsupported(case)
            if supported:
                assert shape_why is None, (name, shape_why)
            else:
                assert shape_why is not None and word in shape_why, (name, shape_why)
                assert v.unsupported(case) is not None  # whatever the variant checks first
    for name in CAPABLE:
        info = variants.get(name).info
        assert info.gqa and info.cross and info.window, name
    sinkhorn = variants.get("sinkhorn.streaming")
    assert "square only" in str(sinkhorn.unsupported(cross))


def test_reduced_check_keeps_the_kind_of_shape() -> None:
    decode = Case(4, 32, 1, 64, True, heads_kv=4, seq_len_kv=131072, window=4096)
    small = reduced_case(decode, "reduced")
    assert (small.batch, small.seq_len, small.nkv, small.hkv, small.window) == (1, 1, 509, 4, 4096)
    cross = reduced_case(Case(1, 4, 4096, 64, True, seq_len_kv=32768), "reduced")
    assert (cross.seq_len, cross.nkv) == (254, 509)
    more_q = reduced_case(Case(1, 4, 8192, 64, seq_len_kv=1024), "reduced")
    assert (more_q.seq_len, more_q.nkv) == (509, 254)
    square = reduced_case(Case(1, 4, 8192, 64, True, heads_kv=2), "reduced")
    assert (square.seq_len, square.nkv, square.is_cross) == (509, 509, False)


def test_list_json_says_which_shapes_each_variant_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import sys

    from attnbench.cli import main

    monkeypatch.setattr(sys, "argv", ["attnbench", "list", "--json"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None)
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["softmax.sdpa"]["shapes"]["gqa"] and rows["dipole.v2"]["shapes"]["cross"]
    assert "causal_lower_right" in rows["softmax.sdpa"]["shapes"]["alignment"]
    assert rows["sinkhorn.naive"]["shapes"] == {
        "gqa": False, "cross": False, "window": False, "alignment": "bottom-right",
    }  # fmt: skip
