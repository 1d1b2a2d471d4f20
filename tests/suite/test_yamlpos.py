"""YAML with positions (``attnbench/suite/yamlpos.py``), seen through the loader: refused YAML
features and ``--set`` mistakes, word for word."""

from __future__ import annotations

import pytest

from attnbench.suite.loader import load_suite_text
from tests.suite.helpers import message

S = "version: 1\nname: t\naxes: {seq_len: [16], head_dim: 8}\nvariants: [softmax.naive]\n"
SYNTAX_HINT = (
    "\n  hint: check the indentation, that ': ' (colon and space) separates each key from its "
    "value, and that brackets are closed; quote strings containing ':' or '#'"
)
TAG_HINT = "\n  hint: a suite holds plain mappings, lists and scalars; remove the '!' tag"
TOP_KEYS = (
    "version, name, description, device, dtype, pass, axes, variants, timing, power, cpu, "
    "check, seed, baseline"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (S + "x: !!set {a}\n", "s.yaml:5:4: YAML tag !!set is not allowed in a suite" + TAG_HINT),
        (S + "x: !!omap [a: 1]\n",
         "s.yaml:5:4: YAML tag !!omap is not allowed in a suite" + TAG_HINT),
        (S + "seed: 2024-02-31\n",
         "s.yaml:5:7: cannot read the value '2024-02-31': day is out of range for month"),
        (S + "seed: .inf\n", "s.yaml:5:7: non-finite number .inf is not allowed in a suite\n"
         "  hint: write a finite number (sizes, times and tolerances are all finite)"),
        (S + "seed: .nan\n", "s.yaml:5:7: non-finite number .nan is not allowed in a suite\n"
         "  hint: write a finite number (sizes, times and tolerances are all finite)"),
        (S + "---\na: 1\n", "s.yaml:5:1: invalid YAML: but found another document (expected a "
         "single document in the stream at line 1)" + SYNTAX_HINT),
        ("a: &x [*x]\n", "s.yaml:1:4: a YAML alias refers to the value that contains it (a "
         "recursive structure)\n  hint: an alias (*name) may only repeat a value defined "
         "before and outside it"),
        ("? [a]\n: 1\n", "s.yaml:1:3: mapping keys must be plain names"),
        ("\tversion: 1\n", "s.yaml:1:1: invalid YAML: found character '\\t' that cannot start "
         "any token (while scanning for the next token)\n  hint: YAML does not allow tabs for "
         "indentation; indent with spaces"),
        ("a: \x07\n", "s.yaml: invalid YAML: unacceptable character #x0007: special characters "
         "are not allowed\n  in \"<unicode string>\", position 3"),
    ],
)  # fmt: skip
def test_refused_yaml_word_for_word(text: str, expected: str) -> None:
    assert message(text) == expected


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("variants.x=1", "variants is a list of 1; 'x' is not an index into it\n"
         "  hint: use a number from 0 to 0"),
        ("variants.1=x", "variants is a list of 1; '1' is not an index into it\n"
         "  hint: use a number from 0 to 0"),
        ("variants.0.name=softmax.sdpa",
         "cannot set 'name': variants.0 is 'softmax.naive' (a string), not a mapping"),
        ("axes.seq_len.x=1", "axes.seq_len is a list of 1; 'x' is not an index into it\n"
         "  hint: use a number from 0 to 0"),
        ("axes.seq_len=[1, 2", "invalid YAML: expected ',' or ']', but got '<stream end>' "
         "(while parsing a flow sequence)\n  hint: VALUE is read as YAML: write lists as "
         "[a, b] and quote text with ':' or '#'"),
        ("axes.seq_len=\x07", "invalid YAML: unacceptable character #x0007: special characters "
         "are not allowed\n  in \"<unicode string>\", position 0"),
        ("seq_len", "expected KEY=VALUE with a dotted KEY into the suite\n"
         "  hint: e.g. --set axes.seq_len=[128,256] or --set timing.min_time_ms=50"),
        ("new.key=1", "unknown key 'new' in the suite\n  hint: allowed keys in the suite: "
         + TOP_KEYS),
    ],
)  # fmt: skip
def test_override_mistakes_word_for_word(override: str, expected: str) -> None:
    assert message(S, (override,)) == f"--set {override}: {expected}"


def test_an_override_into_an_empty_list_says_so() -> None:
    text = S.replace("axes: {seq_len: [16], head_dim: 8}", "axes: {seq_len: [16], head_dim: 8}\n"
                     "description: []")  # fmt: skip
    assert message(text, ("description.0=x",)) == (
        "--set description.0=x: description is a list of 0; '0' is not an index into it\n"
        "  hint: the list is empty"
    )


def test_override_keys_and_values_may_be_padded_and_create_mappings() -> None:
    suite = load_suite_text(S, "s.yaml", [" seed =3", "timing.min_samples= 4 ",
                                          "variants.0=softmax.sdpa"])  # fmt: skip
    assert (suite.seed, suite.timing.min_samples) == (3, 4)
    assert [v.name for v in suite.variants] == ["softmax.sdpa"]
    assert load_suite_text(S, "s.yaml", ["seed=!!int 5"]).seed == 5
