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
