"""Axes, zips, tokens and variant entries (``attnbench/suite/entries.py``): each refusal word
for word, with its hint, and the structures a valid entry reads to."""

from __future__ import annotations

import pytest

from attnbench.suite import VariantRef
from attnbench.suite.loader import load_suite_text
from tests.suite.helpers import message

HEAD = "version: 1\nname: t\naxes:\n  head_dim: 8\n"
ONE = "variants: [softmax.naive]\n"
ZIP_HINT = "\n  hint: zip: [batch, seq_len], or zip: [[batch, seq_len], [heads, heads_kv]]"
AXIS_NAMES = (
    "batch | heads | seq_len | head_dim | head_dim_v | causal | heads_kv | seq_len_kv | window"
)
DIVIDE_HINT = "\n  hint: use sequence lengths that divide the token count, e.g. powers of two"
ENTRY = "version: 1\nname: t\naxes: {seq_len: [16], head_dim: 8}\nvariants:\n"


@pytest.mark.parametrize(
    ("axes", "expected"),
    [
        ("  zip: [batch]\n  batch: [4]\n  seq_len: [8]\n",
         "s.yaml:5:8: a zip needs at least two axes to iterate together" + ZIP_HINT),
        ("  zip: [heads, seq_len]\n  seq_len: [8]\n",
         "s.yaml:5:9: zip names 'heads', which is not set under axes\n"
         "  hint: add 'heads: [...]' with one value per zipped position"),
        ("  zip: batch\n  seq_len: [8]\n",
         "s.yaml:5:8: axes.zip must be a list of axis names, got 'batch' (a string)" + ZIP_HINT),
        ("  zip: []\n  seq_len: [8]\n",
         "s.yaml:5:8: axes.zip must be a list of axis names, got a list" + ZIP_HINT),
        ("  tokens: 64\n  zip: [batch, seq_len]\n  seq_len: [8]\n",
         "s.yaml:6:9: batch cannot be zipped with axes.tokens set: it is derived"),
        ("  zip: [batch, seqlen]\n  batch: [4]\n  seq_len: [8]\n",
         f"s.yaml:5:16: an axis in zip must be one of {AXIS_NAMES}, got 'seqlen' (a string); "
         "did you mean 'seq_len'?"),
        ("  zip: [[batch, seq_len], heads]\n  batch: [1, 2]\n  seq_len: [8, 16]\n"
         "  heads: [1, 2]\n",
         f"s.yaml:5:9: an axis in zip must be one of {AXIS_NAMES}, got a list"),
        ("  tokens: 1024\n  seq_len: [2048]\n",
         "s.yaml:6:13: seq_len 2048 does not divide tokens 1024 (batch = tokens / seq_len must "
         "be a positive integer)" + DIVIDE_HINT),
        # every seq_len against every tokens value
        ("  tokens: [64, 96]\n  seq_len: [32, 64]\n",
         "s.yaml:6:17: seq_len 64 does not divide tokens 96 (batch = tokens / seq_len must be a "
         "positive integer)" + DIVIDE_HINT),
    ],
)  # fmt: skip
def test_axes_forms_refusals_word_for_word(axes: str, expected: str) -> None:
    assert message(HEAD + axes + ONE) == expected


def test_several_zip_groups_are_read_in_order() -> None:
    suite = load_suite_text(
        HEAD + "  zip: [[batch, seq_len], [heads, causal]]\n  batch: [1, 2]\n  seq_len: [8, 16]\n"
        "  heads: [1, 2]\n  causal: [false, true]\n" + ONE
    )
    assert suite.zips == (("batch", "seq_len"), ("heads", "causal"))
    assert suite.tokens == ()
    assert suite.positions["zip"] == (5, 3) and suite.positions["causal"] == (9, 3)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  - {name: softmax.streaming, params: {block_q: {a: 1}}}\n",
         "s.yaml:5:49: parameter block_q of softmax.streaming must be a single value here, "
         "got a mapping"),
        ("  - {name: softmax.streaming, params: {block_q: [[16]]}}\n",
         "s.yaml:5:50: parameter block_q of softmax.streaming must be a single value here, "
         "got a list"),
        ("  - {name: softmax.streaming, params: 3}\n",
         "s.yaml:5:39: params of softmax.streaming must be a mapping of 'key: value' lines, "
         "got 3 (an integer)"),
        ("  - {name: softmax, impl: [a]}\n", "s.yaml:5:27: impl must be a string, got a list"),
    ],
)  # fmt: skip
def test_variant_entry_refusals_word_for_word(entry: str, expected: str) -> None:
    assert message(ENTRY + entry) == expected


def test_an_unknown_variant_points_at_attnbench_list() -> None:
    text = message(ENTRY + "  - {name: nosuch}\n")
    assert text.startswith("s.yaml:5:12: unknown variant 'nosuch'. Known families: ")
    assert text.endswith("\n  hint: 'attnbench list' shows every variant with its parameters")
    text = message(ENTRY + "  - {name: softmax.sdpa, impl: math}\n")
    assert text.endswith(
        "\n  hint: give either 'name: family.impl' or 'name: family' with 'impl: math'")


def test_a_variant_entry_reads_its_own_dtype_and_pass() -> None:
    suite = load_suite_text(ENTRY + "  - {name: softmax.naive, dtype: [fp16], pass: bwd}\n"
                            "  - {name: softmax.streaming, params: {}}\n")  # fmt: skip
    assert suite.variants == (
        VariantRef("softmax.naive", line=5, column=5, dtypes=("fp16",), passes=("bwd",)),
        VariantRef("softmax.streaming", line=6, column=5),
    )
