"""Expansion of suites into cases: counts, order, ids, overrides, rejections, filtering."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from attnbench import variants
from attnbench.case import Case
from attnbench.errors import InputError, SuiteError
from attnbench.suite import (
    Suite,
    VariantRef,
    count_cases,
    expand,
    filter_variants,
    load_suite,
    load_suite_text,
)
from attnbench.variants import Inputs, ParamSpec, Variant, VariantInfo, registry

SUITES = Path(__file__).parents[2] / "suites"

BASE = """\
version: 1
name: t
axes:
  seq_len: [256, 128]
  head_dim: 32
  causal: [false, true]
pass: [fwd, fwd_bwd]
variants:
  - softmax.sdpa
  - {name: softmax, impl: streaming, params: {block_q: [64, 128]}}
"""


class _TestVariant(Variant):
    """Minimal variant for tests: returns v, costs nothing."""

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return inputs["v"]

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return inputs["v"]

    def forward_flops(self, case: Case) -> int:
        return 0


class NoCausal(_TestVariant):
    info = VariantInfo(
        name="testonly.nocausal",
        summary="test-only: no causal mask, no backward",
        causal=False,
        causal_note="it has no notion of order",
        backward=False,
    )


class WithParams(_TestVariant):
    info = VariantInfo(
        name="testonly.params",
        summary="test-only: a float and a tuple parameter",
        params=(
            ParamSpec("tau", 1.0, float, "temperature", minimum=0.0),
            ParamSpec("scales", (1, 4), tuple, "window widths"),
        ),
    )


@pytest.fixture(autouse=True)
def test_variants() -> Iterator[None]:
    """Register the test-only variants for one test, then remove them again.

    They must not leak into other test modules that iterate over every registered variant;
    the registry has no public unregister, so the teardown edits its tables directly.
    """
    variants.names()  # load the built-in families first
    for cls in (NoCausal, WithParams):
        variants.register(cls)
    yield
    for cls in (NoCausal, WithParams):
        registry._classes.pop(cls.info.name, None)
    registry._defaults.pop("testonly", None)


def ids(cases: list[Case]) -> list[str]:
    return [case.case_id for case in cases]


# ---------------------------------------------------------------------------- count, order
def test_count_order_and_ids() -> None:
    suite = load_suite_text(BASE)
    cases = expand(suite)
    # sdpa: 2 lengths x 2 masks x 2 passes; streaming: the same x 2 block sizes
    assert len(cases) == count_cases(suite) == 8 + 16
    assert ids(cases)[:8] == [
        "softmax.sdpa/b1-h8-n256-d32-full-fp32-fwd",
        "softmax.sdpa/b1-h8-n256-d32-full-fp32-fwd_bwd",
        "softmax.sdpa/b1-h8-n256-d32-causal-fp32-fwd",
        "softmax.sdpa/b1-h8-n256-d32-causal-fp32-fwd_bwd",
        "softmax.sdpa/b1-h8-n128-d32-full-fp32-fwd",
        "softmax.sdpa/b1-h8-n128-d32-full-fp32-fwd_bwd",
        "softmax.sdpa/b1-h8-n128-d32-causal-fp32-fwd",
        "softmax.sdpa/b1-h8-n128-d32-causal-fp32-fwd_bwd",
    ]
    assert ids(cases)[8:10] == [
        "softmax.streaming/b1-h8-n256-d32-full-fp32-fwd-block_q64",
        "softmax.streaming/b1-h8-n256-d32-full-fp32-fwd-block_q128",
    ]
    assert len(set(ids(cases))) == len(cases)


def test_sweep_is_grouped_by_variant_then_seq_len() -> None:
    text = (
        BASE.replace("head_dim: 32", "head_dim: [16, 32]\n  batch: [1, 2]")
        + "dtype: [fp32, bf16]\n"
    )
    cases = expand(load_suite_text(text))
    keys = [(c.variant, c.seq_len) for c in cases]
    groups = list(dict.fromkeys(keys))
    assert groups == [
        ("softmax.sdpa", 256), ("softmax.sdpa", 128),
        ("softmax.streaming", 256), ("softmax.streaming", 128),
    ]  # fmt: skip
    # within one length: batch, heads, head_dim, head_dim_v, causal, dtype, pass
    first = [c for c in cases if c.variant == "softmax.sdpa" and c.seq_len == 256]
    order = [(c.batch, c.head_dim, c.causal, c.dtype, c.pass_) for c in first]
    assert order == list(
        itertools.product([1, 2], [16, 32], [False, True], ["fp32", "bf16"], ["fwd", "fwd_bwd"])
    )


def test_case_fields_and_params_hold_only_what_the_suite_set() -> None:
    cases = expand(load_suite_text(BASE))
    streaming = [c for c in cases if c.variant == "softmax.streaming"]
    assert {c.params["block_q"] for c in streaming} == {64, 128}
    assert all(set(c.params) == {"block_q"} for c in streaming)  # block_k stays implicit
    assert all(c.params == {} for c in cases if c.variant == "softmax.sdpa")
    case = cases[0]
    assert (case.batch, case.heads, case.head_dim, case.head_dim_v) == (1, 8, 32, None)


def test_per_variant_axes_dtype_and_pass_overrides() -> None:
    suite = load_suite(Path(__file__).parent / "data" / "valid.yaml")
    cases = expand(suite)
    sdpa = [c for c in cases if c.variant == "softmax.sdpa"]
    streaming = [c for c in cases if c.variant == "softmax.streaming"]
    # sdpa: batch 2 x seq_len 2 x causal 2 x dtype 2; streaming: causal and dtype pinned,
    # block_q swept (2), block_k set once
    assert (len(sdpa), len(streaming)) == (16, 8)
    assert {c.causal for c in streaming} == {False}
    assert {c.dtype for c in streaming} == {"fp32"}
    assert {c.dtype for c in sdpa} == {"fp32", "bf16"}
    assert all(c.params["block_k"] == 256 for c in streaming)
    assert streaming[0].case_id == (
        "softmax.streaming/b1-h4-n128-d32-dv16-full-fp32-fwd_bwd-block_k256-block_q64"
    )
    assert count_cases(suite) == len(cases)


def test_float_params_and_list_valued_params() -> None:
    text = BASE + "  - {name: testonly.params, params: {tau: [1, 2.5], scales: [1, 4]}}\n"
    text = text.replace("pass: [fwd, fwd_bwd]", "pass: fwd")
    ref = load_suite_text(text).variants[2]
    assert ref.params == {"tau": (1.0, 2.5), "scales": ((1, 4),)}
    assert isinstance(ref.params["tau"][0], float)
    sweep = BASE + "  - {name: testonly.params, params: {scales: [[1], [1, 4]]}}\n"
    suite = load_suite_text(sweep)
    assert suite.variants[2].params == {"scales": ((1,), (1, 4))}
    tail = ids(expand(suite))[-2:]
    assert tail == [
        "testonly.params/b1-h8-n128-d32-causal-fp32-fwd_bwd-scales1",
        "testonly.params/b1-h8-n128-d32-causal-fp32-fwd_bwd-scales1x4",
    ]


def test_suite_built_in_code_uses_axis_defaults() -> None:
    suite = Suite(
        name="code",
        variants=(VariantRef("softmax"),),
        axes={"seq_len": (64,), "head_dim": (16,)},
    )
    assert ids(expand(suite)) == ["softmax.sdpa/b1-h8-n64-d16-full-fp32-fwd"]
    with pytest.raises(SuiteError, match="the suite has no axes head_dim"):
        expand(Suite(name="x", variants=(VariantRef("softmax"),), axes={"seq_len": (64,)}))


# ------------------------------------------------------------------------------ rejections
def test_unsupported_causal_is_rejected_at_the_entry_with_the_fix() -> None:
    text = BASE.replace("pass: [fwd, fwd_bwd]", "pass: fwd") + "  - testonly.nocausal\n"
    with pytest.raises(SuiteError) as info:
        load_suite_text(text, "s.yaml")
    err = info.value
    assert (err.line, err.column) == (11, 5)
    assert str(err) == (
        "s.yaml:11:5: testonly.nocausal cannot run 2 of its 4 cases, e.g. "
        "testonly.nocausal/b1-h8-n256-d32-causal-fp32-fwd: testonly.nocausal does not support "
        "causal masking: it has no notion of order\n"
        "  hint: set 'axes: {causal: [false]}' on this variant's entry (a per-variant override)"
    )
    fixed = text.replace(
        "  - testonly.nocausal", "  - {name: testonly.nocausal, axes: {causal: [false]}}"
    )
    assert count_cases(load_suite_text(fixed)) == 4 + 8 + 2  # fwd only


def test_unsupported_pass_suggests_a_pass_override() -> None:
    text = BASE + "  - {name: testonly.nocausal, axes: {causal: [false]}}\n"
    with pytest.raises(SuiteError) as info:
        load_suite_text(text, "s.yaml")
    assert "is not differentiable" in str(info.value)
    assert "set 'pass: [fwd]' on this variant's entry" in str(info.value)
    fixed = text.replace("causal: [false]}", "causal: [false]}, pass: fwd")
    assert count_cases(load_suite_text(fixed)) == 8 + 16 + 2


def test_same_variant_twice_names_both_lines() -> None:
    with pytest.raises(SuiteError) as info:
        load_suite_text(BASE + "  - softmax\n", "s.yaml")  # bare family = softmax.sdpa
    err = info.value
    assert (err.line, err.column) == (11, 5)
    assert "repeats case softmax.sdpa/b1-h8-n256-d32-full-fp32-fwd of the entry at line 9" in str(
        err
    )
    assert "list each variant once" in str(err)


def test_same_variant_with_other_params_is_not_a_duplicate() -> None:
    text = BASE + "  - {name: softmax.streaming, params: {block_q: 32}}\n"
    assert count_cases(load_suite_text(text)) == 8 + 16 + 8


def test_one_entry_producing_a_case_twice_is_rejected() -> None:
    text = BASE.replace("head_dim: 32", "head_dim: 32\n  head_dim_v: [null, 32]")
    with pytest.raises(
        SuiteError, match=r"produces case softmax\.sdpa/b1-h8-n256-d32-full-fp32-fwd twice"
    ):
        load_suite_text(text)


def test_expand_reports_unknown_variant_of_a_code_built_suite() -> None:
    suite = Suite(name="x", variants=(VariantRef("nope", line=3),), axes={})
    with pytest.raises(SuiteError, match="unknown variant 'nope'"):
        expand(suite)


# ------------------------------------------------------------------------------- filtering
def test_filter_by_full_name_and_family() -> None:
    suite = load_suite_text(BASE + "  - softmax.naive\n")
    only = filter_variants(suite, ["softmax.naive"])
    assert [ref.name for ref in only.variants] == ["softmax.naive"]
    both = filter_variants(suite, ["softmax.naive", "softmax.sdpa"])
    assert [ref.name for ref in both.variants] == ["softmax.sdpa", "softmax.naive"]  # suite order
    family = filter_variants(suite, ["softmax"])
    assert family.variants == suite.variants
    assert filter_variants(suite, []) is suite
    assert count_cases(only) == 8


def test_filter_unknown_name_suggests() -> None:
    suite = load_suite_text(BASE)
    with pytest.raises(InputError) as info:
        filter_variants(suite, ["softmax.sdpaa"])
    assert str(info.value) == (
        "--variant 'softmax.sdpaa' is not in suite 't'; did you mean 'softmax.sdpa'? "
        "(the suite's variants: softmax.sdpa, softmax.streaming)"
    )


# --------------------------------------------------------------------------- shipped suites
def test_smoke_suite() -> None:
    suite = load_suite(SUITES / "smoke.yaml")
    cases = expand(suite)
    assert len(cases) == 4 * 3 * 2 * 2 == 48
    assert {c.variant for c in cases} == {
        "softmax.naive", "softmax.sdpa", "softmax.sdpa_math", "softmax.streaming",
    }  # fmt: skip
    assert {c.seq_len for c in cases} == {128, 256, 509}
    assert suite.device == "auto" and suite.dtypes == ("fp32",)
    assert suite.timing.max_time_s <= 0.5


def test_long_context_suite() -> None:
    suite = load_suite(SUITES / "long_context.yaml")
    cases = expand(suite)
    assert len(cases) == count_cases(suite) == 3 * 6 * 2 * 2 * 2 + 4 * 2 * 2 * 2 == 176
    naive = [c for c in cases if c.variant == "softmax.naive"]
    assert max(c.seq_len for c in naive) == 8192
    assert max(c.seq_len for c in cases) == 32768
    assert suite.dtypes == ("bf16",) and suite.passes == ("fwd", "fwd_bwd")
