"""Cost models on the new shapes against counts written out here: visible pairs × widths."""

from __future__ import annotations

import pytest

from attnbench import Case, variants


def pairs_by_hand(n: int, n_kv: int, causal: bool, window: int | None) -> int:
    """Visible (query, key) pairs, counted one by one (query i at key position i + n_kv - n)."""
    count = 0
    for i in range(n):
        pos = i + n_kv - n
        for j in range(n_kv):
            hidden = (causal and j > pos) or (
                window is not None and (j < pos - window or (not causal and j > pos + window))
            )
            count += not hidden
    return count


SHAPES = [  # (heads, heads_kv, n, n_kv, causal, window)
    (8, 2, 100, 100, True, None),
    (8, 1, 1, 1000, True, None),
    (4, None, 30, 200, True, None),
    (4, 4, 30, 200, False, None),
    (8, 2, 120, 120, True, 17),
    (8, 2, 120, 120, False, 17),
    (4, 1, 40, 300, True, 50),
    (4, 1, 1, 600, True, 63),
]


def make(name: str, shape: tuple[int, int | None, int, int, bool, int | None]) -> Case:
    heads, heads_kv, n, n_kv, causal, window = shape
    return Case(2, heads, n, 32, causal, "bf16", {}, name, heads_kv=heads_kv, seq_len_kv=n_kv,
                window=window, head_dim_v=48)  # fmt: skip


@pytest.mark.parametrize("shape", SHAPES)
def test_flops_count_visible_pairs_for_skipping_kernels(
    shape: tuple[int, int | None, int, int, bool, int | None],
) -> None:
    heads, _, n, n_kv, causal, window = shape
    visible = pairs_by_hand(n, n_kv, causal, window)
    per_pair = 2 * (32 + 48)  # QK^T over D plus PV over Dv, 2 FLOPs a multiply-add
    cog_flex = variants.get("cog.flex").flops(make("cog.flex", shape))
    assert cog_flex == 2 * (2 * heads * visible * per_pair)  # doubled keys, same visible pairs
    for name in ("softmax.streaming", "softmax.flex", "cog.streaming"):
        assert variants.get(name).flops(make(name, shape)) == 2 * heads * visible * per_pair
    # the materialising kernels compute the whole N x N_kv rectangle
    for name in ("softmax.naive", "cog.naive", "softmax.sdpa_math"):
        assert variants.get(name).flops(make(name, shape)) == 2 * heads * n * n_kv * per_pair
    # SDPA skips causal work but not an explicit window mask
    sdpa = variants.get("softmax.sdpa").flops(make("softmax.sdpa", shape))
    expected = n * n_kv if window is not None else visible
    assert sdpa == 2 * heads * expected * per_pair
    dipole = variants.get("dipole.v1").forward_flops(make("dipole.v1", shape))
    assert dipole == 2 * heads * visible * 2 * (32 + 2 * 48)
    assert variants.get("softmax.streaming").exp_count(make("softmax.streaming", shape)) == (
        2 * heads * visible
    )


def test_decode_bytes_read_the_cache_once_at_kv_heads() -> None:
    # one bf16 query token, 32 query heads over 4 kv heads, 8192 cached keys, D = Dv = 128
    case = Case(1, 32, 1, 128, True, "bf16", {}, "softmax.sdpa", heads_kv=4, seq_len_kv=8192)
    q_and_out = 32 * 1 * (128 + 128)
    cache = 4 * 8192 * (128 + 128)
    assert variants.get("softmax.sdpa").bytes_moved(case) == 2 * (q_and_out + cache) == 16_793_600
    assert variants.get("softmax.sdpa").flops(case) == 2 * 32 * 8192 * 256
    # dipole reads a second value cache; cog.flex reads the doubled cache
    dip = variants.get("dipole.v2").bytes_moved(case)
    assert dip == 2 * (q_and_out + 4 * 8192 * (128 + 2 * 128))
    assert variants.get("cog.flex").bytes_moved(case) == 2 * (q_and_out + 2 * cache)


def test_a_window_in_decoding_reads_only_the_window_when_skipped() -> None:
    case = Case(1, 32, 1, 128, True, "bf16", {}, "softmax.streaming", heads_kv=4,
                seq_len_kv=8192, window=1023)  # fmt: skip
    q_and_out = 32 * (128 + 128)
    window_keys = 4 * 1024 * (128 + 128)  # keys 8191 - 1023 .. 8191
    assert variants.get("softmax.streaming").bytes_moved(case) == 2 * (q_and_out + window_keys)
    full = 2 * (q_and_out + 4 * 8192 * 256)
    assert variants.get("softmax.sdpa").bytes_moved(case.replace(variant="softmax.sdpa")) == full


def test_semantic_cross_reads_both_layer_inputs() -> None:
    case = Case(2, 4, 10, 16, False, "fp32", {}, "semantic.bias", heads_kv=2, seq_len_kv=70)
    d_model = 4 * 16
    qkvo = 2 * (4 * 10 * 32 + 2 * 70 * 32)
    x = 2 * (10 + 70) * d_model
    assert variants.get("semantic.bias").bytes_moved(case) == 4 * (qkvo + x)
    c_flops = 2 * 2 * 10 * 70 * d_model
    attention = 2 * 2 * 4 * 10 * 70 * 32
    assert variants.get("semantic.bias").flops(case) == c_flops + attention
    fused = variants.get("semantic.fused").flops(case.replace(variant="semantic.fused"))
    assert fused == 2 * 2 * 4 * 10 * 70 * (16 + d_model + 16)


def test_memory_models_use_the_key_length() -> None:
    case = Case(1, 8, 64, 32, False, "fp32", {}, "softmax.naive", heads_kv=2, seq_len_kv=1000)
    out = 4 * 8 * 64 * 32
    assert variants.get("softmax.naive").memory_bytes(case) == out + 4 * 8 * 64 * 1000
    bias = variants.get("semantic.bias").memory_bytes(case.replace(variant="semantic.bias"))
    assert bias == out + (4 + 4) * 64 * 1000 + 4 * 8 * 64 * 2
    stream = Case(1, 8, 1, 32, True, "fp32", {"block_q": 256, "block_k": 512},
                  "softmax.streaming", heads_kv=2, seq_len_kv=100)  # fmt: skip
    # one query row against a key block capped at N_kv
    assert variants.get("softmax.streaming").memory_bytes(stream) == (
        4 * 8 * 1 * 32 + 4 * 8 * 1 * (2 * 100 + 32 + 2)
    )
