"""Case: validation, ids, hashing."""

from __future__ import annotations

import pytest

from attnbench import Case


def test_case_id_is_readable_and_stable() -> None:
    c = Case(1, 16, 4096, 64, True, "bf16", {"iters": 5, "tau": 0.5}, "sinkhorn.naive", "fwd")
    assert c.case_id == "sinkhorn.naive/b1-h16-n4096-d64-causal-bf16-fwd-iters5-tau0.5"
    assert Case(2, 4, 8, 8, head_dim_v=16).shape_id == "b2-h4-n8-d8-dv16-full-fp32-fwd"
    assert Case(2, 4, 8, 8).dv == 8 and Case(2, 4, 8, 8).tokens == 16


def test_cases_hash_and_compare_by_value() -> None:
    a = Case(1, 2, 3, 4, params={"x": [1, 2]})
    b = Case(1, 2, 3, 4, params={"x": [1, 2]})
    assert a == b and hash(a) == hash(b)
    assert len({a, b, a.replace(seq_len=5)}) == 2


@pytest.mark.parametrize(
    "kwargs",
    [{"batch": 0}, {"heads": -1}, {"seq_len": 1.5}, {"head_dim": True}, {"dtype": "fp8"},
     {"pass_": "both"}],
)
def test_invalid_cases_are_rejected(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"batch": 1, "heads": 1, "seq_len": 4, "head_dim": 4}
    base.update(kwargs)
    with pytest.raises(ValueError):
        Case(**base)  # type: ignore[arg-type]


def test_group_key_is_the_shape_without_variant_or_params() -> None:
    a = Case(2, 4, 128, 32, causal=True, dtype="bf16", params={"iters": 3},
             variant="sinkhorn.naive")
    b = Case(2, 4, 128, 32, causal=True, dtype="bf16", params={}, variant="softmax.sdpa")
    assert a.group_key == b.group_key == "b2-h4-n128-d32-causal-bf16-fwd"
    assert a.shape_id == "b2-h4-n128-d32-causal-bf16-fwd-iters3"
    assert Case(2, 4, 128, 32, dtype="bf16", causal=True, pass_="bwd").group_key != a.group_key


# ----------------------------------------------------------------- shape axes (issue #14)
PINNED = [  # ids, group keys and stored params of shipped suites before the new axes existed
    ("softmax.naive/b1-h4-n128-d32-full-fp32-fwd", Case(1, 4, 128, 32, False, "fp32", {},
     "softmax.naive")),
    ("softmax.streaming/b1-h4-n509-d32-causal-fp32-fwd_bwd-block_k128-block_q128",
     Case(1, 4, 509, 32, True, "fp32", {"block_q": 128, "block_k": 128}, "softmax.streaming",
          "fwd_bwd")),
    ("softmax.naive/b1-h16-n8192-d128-causal-bf16-fwd_bwd", Case(1, 16, 8192, 128, True, "bf16",
     {}, "softmax.naive", "fwd_bwd")),
]  # fmt: skip


@pytest.mark.parametrize(("case_id", "case"), PINNED)
def test_existing_ids_and_params_are_unchanged(case_id: str, case: Case) -> None:
    assert case.case_id == case_id
    assert case.group_key == case_id.split("/")[1].split("-block")[0]
    assert list(case.to_dict())[:8] == [
        "batch", "heads", "seq_len", "head_dim", "head_dim_v", "causal", "dtype", "pass",
    ]  # fmt: skip
    assert not {"heads_kv", "seq_len_kv", "window"} & set(case.to_dict())
    # the defaults spelled out are the defaults: same case, id, hash
    spelled = case.replace(heads_kv=case.heads, seq_len_kv=case.seq_len)
    assert spelled == case and hash(spelled) == hash(case) and spelled.case_id == case_id


def test_new_axes_appear_in_ids_group_keys_and_params_only_when_set() -> None:
    decode = Case(1, 32, 1, 128, True, "bf16", {}, "softmax.sdpa", heads_kv=4, seq_len_kv=8192)
    assert decode.case_id == "softmax.sdpa/b1-h32-hkv4-n1-nkv8192-d128-causal-bf16-fwd"
    assert (decode.hkv, decode.nkv, decode.group, decode.is_gqa, decode.is_cross) == (
        4, 8192, 8, True, True,
    )  # fmt: skip
    assert decode.to_dict()["heads_kv"] == 4 and decode.to_dict()["seq_len_kv"] == 8192
    windowed = Case(2, 4, 64, 16, True, window=16)
    assert windowed.shape_id == "b2-h4-n64-d16-causal-w16-fp32-fwd"
    assert windowed.to_dict()["window"] == 16 and windowed.masked
    assert not Case(2, 4, 64, 16).masked


@pytest.mark.parametrize(
    "change", [{"heads_kv": 2}, {"heads_kv": 1}, {"seq_len_kv": 99}, {"window": 8}]
)
def test_group_key_covers_every_new_shape_axis(change: dict[str, int]) -> None:
    base = Case(1, 8, 64, 16, True, "fp32", {}, "softmax.sdpa")
    other = base.replace(**change)
    assert other.group_key != base.group_key
    assert other.replace(variant="cog.streaming").group_key == other.group_key


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"heads": 8, "heads_kv": 3}, "must divide heads"),
        ({"heads": 8, "heads_kv": 16}, "must divide heads"),
        ({"heads_kv": 0}, "positive integer or None"),
        ({"window": 0}, "positive integer or None"),
        ({"seq_len_kv": True}, "positive integer or None"),
        ({"seq_len": 64, "seq_len_kv": 32, "causal": True}, "seq_len <= seq_len_kv"),
        ({"seq_len": 64, "seq_len_kv": 32, "window": 4}, "seq_len <= seq_len_kv"),
    ],
)
def test_invalid_shape_axes_are_rejected(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"batch": 1, "heads": 8, "seq_len": 16, "head_dim": 4}
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Case(**base)  # type: ignore[arg-type]


def test_unmasked_cross_attention_may_have_more_queries_than_keys() -> None:
    c = Case(1, 8, 64, 16, seq_len_kv=32, heads_kv=8)
    assert c.nkv == 32 and c.heads_kv is None and c.shape_id == "b1-h8-n64-nkv32-d16-full-fp32-fwd"
