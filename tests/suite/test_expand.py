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


# ------------------------------------------------- shape axes, zip and tokens (issue #14)
def shape_suite(axes: str, variants_line: str = "variants: [softmax.sdpa]") -> str:
    return f"version: 1\nname: t\naxes:\n  head_dim: 16\n{axes}\n{variants_line}\n"


def located(text: str) -> SuiteError:
    with pytest.raises(SuiteError) as info:
        load_suite_text(text, path="s.yaml")
    return info.value


def test_zip_expands_to_exactly_the_listed_pairs() -> None:
    text = shape_suite(
        "  zip: [batch, seq_len]\n  batch: [16, 8, 4, 2]\n  seq_len: [1024, 2048, 4096, 8192]\n"
        "  causal: [false, true]"
    )
    suite = load_suite_text(text)
    cases = expand(suite)
    pairs = [(c.batch, c.seq_len) for c in cases if not c.causal]
    assert pairs == [(16, 1024), (8, 2048), (4, 4096), (2, 8192)]
    assert len(cases) == count_cases(suite) == 4 * 2
    assert suite.zips == (("batch", "seq_len"),)


def test_two_zips_and_a_free_axis_multiply_as_groups() -> None:
    text = shape_suite(
        "  zip: [[batch, seq_len], [heads, heads_kv]]\n  batch: [4, 2]\n  seq_len: [256, 512]\n"
        "  heads: [8, 16]\n  heads_kv: [2, 1]\n  causal: [false, true]"
    )
    suite = load_suite_text(text)
    cases = expand(suite)
    assert len(cases) == count_cases(suite) == 2 * 2 * 2
    assert {(c.batch, c.seq_len, c.heads, c.hkv) for c in cases} == {
        (4, 256, 8, 2), (4, 256, 16, 1), (2, 512, 8, 2), (2, 512, 16, 1),
    }  # fmt: skip


def test_mismatched_zip_is_a_located_error() -> None:
    err = located(shape_suite("  zip: [batch, seq_len]\n  batch: [4, 2]\n  seq_len: [1, 2, 3]"))
    assert (err.line, err.column) == (7, 12)
    assert "seq_len has 3 values, batch has 2" in str(err) and str(err).startswith("s.yaml:7:12")


@pytest.mark.parametrize(
    ("axes", "line", "column", "part"),
    [
        ("  zip: [batch, seqlen]\n  batch: [4]\n  seq_len: [8]", 5, 16, "did you mean 'seq_len'"),
        ("  zip: [batch]\n  batch: [4]\n  seq_len: [8]", 5, 8, "at least two axes"),
        ("  zip: [heads, seq_len]\n  seq_len: [8]", 5, 9, "not set under axes"),
        ("  zip: [seq_len, seq_len]\n  seq_len: [8]", 5, 18, "twice"),
        ("  zip: batch\n  seq_len: [8]", 5, 8, "list of axis names"),
    ],
)
def test_bad_zips_are_located(axes: str, line: int, column: int, part: str) -> None:
    err = located(shape_suite(axes))
    assert (err.line, err.column) == (line, column), str(err)
    assert part in str(err)


def test_per_variant_override_of_a_zipped_axis_must_keep_lengths() -> None:
    text = shape_suite(
        "  zip: [batch, seq_len]\n  batch: [4, 2]\n  seq_len: [64, 128]",
        "variants:\n  - {name: softmax.naive, axes: {seq_len: [64]}}",
    )
    err = located(text)
    assert err.line == 9 and "zipped axes must have equal lengths for softmax.naive" in str(err)


def test_tokens_derive_the_batch() -> None:
    suite = load_suite_text(shape_suite("  tokens: 16384\n  seq_len: [512, 1024, 4096, 16384]"))
    cases = expand(suite)
    assert [(c.batch, c.seq_len) for c in cases] == [(32, 512), (16, 1024), (4, 4096), (1, 16384)]
    assert {c.tokens for c in cases} == {16384} and count_cases(suite) == 4


@pytest.mark.parametrize(
    ("axes", "line", "column", "part"),
    [
        ("  tokens: 16384\n  seq_len: [1024, 3000]", 6, 19, "seq_len 3000 does not divide"),
        ("  tokens: 1024\n  seq_len: [2048]", 6, 13, "seq_len 2048 does not divide"),
        ("  tokens: 1024\n  batch: 2\n  seq_len: [8]", 6, 3, "cannot be set together"),
        ("  tokens: 0\n  seq_len: [8]", 5, 11, "positive integer"),
    ],
)
def test_tokens_errors_are_located(axes: str, line: int, column: int, part: str) -> None:
    err = located(shape_suite(axes))
    assert (err.line, err.column) == (line, column), str(err)
    assert part in str(err)


def test_tokens_checked_against_a_variant_override_of_seq_len() -> None:
    text = shape_suite(
        "  tokens: 4096\n  seq_len: [512]",
        "variants:\n  - {name: softmax.naive, axes: {seq_len: [3000]}}",
    )
    err = located(text)
    assert err.line == 8 and "seq_len 3000 does not divide tokens 4096" in str(err)


def test_a_variant_cannot_set_batch_when_tokens_derive_it() -> None:
    text = shape_suite(
        "  tokens: 4096\n  seq_len: [512]", "variants:\n  - {name: softmax.naive, axes: {batch: 2}}"
    )
    err = located(text)
    assert err.line == 8 and "derives batch from axes.tokens" in str(err)


def test_new_axes_expand_and_default_when_left_out() -> None:
    text = shape_suite(
        "  heads: 8\n  heads_kv: [8, 2, 1]\n  seq_len: 1\n  seq_len_kv: [1024, 4096]\n"
        "  causal: true\n  window: [null, 256]"
    )
    suite = load_suite_text(text)
    cases = expand(suite)
    assert len(cases) == count_cases(suite) == 3 * 2 * 2
    assert cases[0].case_id == "softmax.sdpa/b1-h8-n1-nkv1024-d16-causal-fp32-fwd"
    assert cases[1].case_id == "softmax.sdpa/b1-h8-n1-nkv1024-d16-causal-w256-fp32-fwd"
    assert [c.nkv for c in cases] == [1024] * 6 + [4096] * 6  # seq_len_kv varies slowest
    assert "heads_kv" not in load_suite_text(BASE).axes  # only axes a suite sets are listed


@pytest.mark.parametrize(
    ("axes", "line", "part"),
    [
        ("  heads: [8, 6]\n  heads_kv: 4\n  seq_len: 8", 6, "heads_kv 4 does not divide heads 6"),
        ("  seq_len: 64\n  seq_len_kv: 32\n  causal: true", 6, "seq_len <= seq_len_kv"),
        ("  seq_len: 64\n  seq_len_kv: 32\n  window: 4", 6, "seq_len <= seq_len_kv"),
        ("  seq_len: 64\n  window: 0", 6, "positive integer"),
    ],
)
def test_shape_rules_point_at_the_axis(axes: str, line: int, part: str) -> None:
    err = located(shape_suite(axes))
    assert err.line == line and part in str(err), str(err)


def test_unsupported_shapes_are_located_at_the_variant_with_the_fix() -> None:
    err = located(shape_suite("  seq_len: 64\n  heads_kv: [8, 2]", "variants: [softmax, sinkhorn]"))
    assert (err.line, err.column) == (7, 21)
    assert "sinkhorn.naive cannot run 1 of its 2 cases" in str(err)
    assert "does not share key/value heads" in str(err) and "square only" in str(err)
    assert "axes: {heads_kv: [null]}" in str(err)
    err = located(shape_suite("  seq_len: 64\n  seq_len_kv: 128", "variants: [cpe]"))
    assert "needs as many keys as queries" in str(err)
    err = located(shape_suite("  seq_len: 64\n  window: 8", "variants: [time]"))
    assert "does not support a sliding window" in str(err)


def test_decode_suite() -> None:
    suite = load_suite(SUITES / "decode.yaml")
    cases = expand(suite)
    assert cases and all(c.seq_len == 1 for c in cases)
    assert min(c.nkv for c in cases) == 1024 and max(c.nkv for c in cases) == 131072
    ratios = {c.heads // c.hkv for c in cases}
    assert {8, c_heads(cases)} <= ratios  # GQA 8:1 and MQA (one kv head)
    assert len(cases) == count_cases(suite)


def c_heads(cases: list[Case]) -> int:
    """The query head count of a suite that uses a single one."""
    (heads,) = {c.heads for c in cases}
    return heads


def test_constant_token_suite() -> None:
    suite = load_suite(SUITES / "constant_tokens.yaml")
    cases = expand(suite)
    assert {c.tokens for c in cases} == set(suite.tokens) and len(suite.tokens) == 1
    assert len({(c.batch, c.seq_len) for c in cases}) >= 5
    assert len(cases) == count_cases(suite)


# ------------------------------------------------------------------ shape messages, exactly
CAUSAL_KV = (
    "a causal or windowed case needs seq_len <= seq_len_kv, got 64 > 32: aligned bottom-right, "
    "the first queries would see no key\n  hint: give this sweep 'causal: [false]' and no "
    "window, or keys at least as long"
)


@pytest.mark.parametrize(
    ("axes", "variants", "expected"),
    [
        ("  heads: [8, 6]\n  heads_kv: 4\n  seq_len: 8", None,
         "s.yaml:6:3: heads_kv 4 does not divide heads 6: each key/value head serves an equal "
         "group of query heads\n  hint: use a divisor of heads (heads for plain attention, 1 "
         "for MQA)"),
        ("  seq_len: 64\n  seq_len_kv: 32\n  causal: true", None, "s.yaml:6:3: " + CAUSAL_KV),
        # the variant sets the axis itself: the error points at its entry
        ("  seq_len: 64",
         "variants:\n  - {name: softmax.naive, axes: {seq_len_kv: [32], causal: [true]}}",
         "s.yaml:7:5: " + CAUSAL_KV),
        ("  tokens: 4096\n  seq_len: [512]",
         "variants:\n  - {name: softmax.naive, axes: {seq_len: [3000]}}",
         "s.yaml:8:5: seq_len 3000 does not divide tokens 4096 (batch = tokens / seq_len)\n"
         "  hint: use sequence lengths that divide the token count"),
        ("  seq_len: 64\n  heads_kv: [8, 2]", "variants: [softmax, sinkhorn]",
         "s.yaml:7:21: sinkhorn.naive cannot run 1 of its 2 cases, e.g. "
         "sinkhorn.naive/b1-h8-hkv2-n64-d16-full-fp32-fwd: sinkhorn.naive does not share "
         "key/value heads (heads_kv 2 != heads 8): Sinkhorn attention is square only here: the "
         "doubly stochastic plan balances N queries against the same N keys with uniform "
         "marginals 1/N (no GQA, cross-attention or window)\n  hint: set 'axes: {heads_kv: "
         "[null]}' on this variant's entry (a per-variant override) (attnbench list shows its "
         "shapes)"),
    ],
)  # fmt: skip
def test_shape_messages_word_for_word(axes: str, variants: str | None, expected: str) -> None:
    text = shape_suite(axes, variants) if variants else shape_suite(axes)
    assert str(located(text)) == expected


@pytest.mark.parametrize(
    ("axes", "variants", "where", "expected"),
    [
        ("  tokens: 4096\n  seq_len: [512]",
         "variants:\n  - {name: softmax.naive, axes: {batch: 2}}", (8, 5),
         "softmax.naive sets axes.batch, but this suite derives batch from axes.tokens\n"
         "  hint: remove batch from this entry's axes (it would be ignored)"),
        ("  zip: [batch, seq_len]\n  batch: [4, 2]\n  seq_len: [64, 128]",
         "variants:\n  - {name: softmax.naive, axes: {seq_len: [64]}}",
         (9, 5), "zipped axes must have equal lengths for softmax.naive: batch has 2, seq_len "
         "has 1\n  hint: a per-variant override of a zipped axis must list as many values"),
    ],
)  # fmt: skip
def test_override_conflicts_word_for_word(
    axes: str, variants: str, where: tuple[int, int], expected: str
) -> None:
    err = located(shape_suite(axes, variants))
    assert (err.line, err.column) == where
    assert err.message + "\n  hint: " + str(err.hint) == expected
    # raised while counting cases, before the suite is complete, yet naming its file
    with pytest.raises(SuiteError) as info:
        load_suite_text(shape_suite(axes, variants), "s.yaml")
    assert str(info.value).startswith(f"s.yaml:{where[0]}:{where[1]}: ")


def test_filter_without_a_close_name_lists_the_variants() -> None:
    with pytest.raises(InputError) as info:
        filter_variants(load_suite_text(BASE), ["zzz"])
    assert str(info.value) == (
        "--variant 'zzz' is not in suite 't' (the suite's variants: softmax.sdpa, "
        "softmax.streaming)"
    )


def test_a_repeat_in_a_suite_built_in_code_names_an_earlier_entry() -> None:
    refs = (VariantRef("softmax.naive"), VariantRef("softmax.naive"))  # two entries, no lines
    suite = Suite(name="x", variants=refs, axes={"seq_len": (8,), "head_dim": (4,)})
    with pytest.raises(SuiteError) as info:
        expand(suite)
    assert str(info.value) == (
        "<suite>: this variant entry repeats case softmax.naive/b1-h8-n8-d4-full-fp32-fwd of an "
        "earlier entry\n  hint: list each variant once; sweep a parameter with a list instead, "
        "e.g. 'params: {block_q: [128, 256]}'"
    )
