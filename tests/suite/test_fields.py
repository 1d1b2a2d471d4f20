"""Typed reads of suite values (``attnbench/suite/fields.py``), seen through the loader: each
refusal word for word, with the hint a user acts on, and the values just inside each limit."""

from __future__ import annotations

import pytest

from attnbench.suite.loader import load_suite_text
from tests.suite.helpers import message

S = "version: 1\nname: t\naxes: {seq_len: [16], head_dim: 8}\nvariants: [softmax.naive]\n"
UNIQUE = "\n  hint: each value of an axis must be unique; remove the repeat"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (S.replace("[16]", "[]"), "s.yaml:3:17: axes.seq_len is an empty list; an axis needs "
         "at least one value\n  hint: e.g. seq_len: [1024, 4096]"),
        (S + "dtype: []\n", "s.yaml:5:8: dtype is an empty list; an axis needs at least one "
         "value\n  hint: e.g. dtype: [fp32, bf16]"),
        (S + "pass: []\n", "s.yaml:5:7: pass is an empty list; an axis needs at least one "
         "value\n  hint: e.g. pass: [fwd, fwd_bwd]"),
        (S.replace("[16]", "[16, 32, 16]"),
         "s.yaml:3:26: axes.seq_len lists 16 twice (first at line 3)" + UNIQUE),
        (S + "dtype: [fp32, bf16, fp32]\n",
         "s.yaml:5:21: dtype lists 'fp32' twice (first at line 5)" + UNIQUE),
        (S.replace("head_dim: 8", "head_dim: 8, causal: [true, true]"),
         "s.yaml:3:51: axes.causal lists true twice (first at line 3)" + UNIQUE),
        (S + "dtype: float16\n", "s.yaml:5:8: dtype must be one of fp32 | fp16 | bf16, got "
         "'float16' (a string); did you mean 'fp16'?"),
        (S + "pass: forward\n", "s.yaml:5:7: pass must be one of fwd | bwd | fwd_bwd, got "
         "'forward' (a string); did you mean 'fwd'?"),
        (S + "check: 3\n", "s.yaml:5:8: check must be one of reduced | full | off, got 3 "
         "(an integer)"),
        (S + "timing: {flush: [cold]}\n",
         "s.yaml:5:17: timing.flush must be one of cold | hot, got a list"),
        (S + "timing: {max_time_s: 'x'}\n",
         "s.yaml:5:22: timing.max_time_s must be a number > 0, got 'x' (a string)"),
        (S + "timing: {max_time_s: true}\n",
         "s.yaml:5:22: timing.max_time_s must be a number > 0, got true (a boolean)"),
        (S + "power: {throttle_fraction: 0}\n", "s.yaml:5:28: power.throttle_fraction must be "
         "a number > 0 and <= 1, got 0 (an integer)"),
        (S.replace("name: t", "name: null"), "s.yaml:2:7: name must be a string, got null (null)"),
        (S.replace("name: t", "name: [a]"), "s.yaml:2:7: name must be a string, got a list"),
        (S.replace("axes:", "axes: 3\nx:"), "s.yaml:4:1: unknown key 'x' in the suite\n  hint: "
         "allowed keys in the suite: version, name, description, device, dtype, pass, axes, "
         "variants, timing, power, cpu, check, seed, baseline"),
        # a missing key points at the key whose value lacks it
        (S.replace("axes: {seq_len: [16], head_dim: 8}", "axes: {head_dim: 8}"),
         "s.yaml:3:1: axes is missing the required key 'seq_len'\n"
         "  hint: add e.g. 'seq_len: [1024, 4096]' under axes"),
        (S.replace("[softmax.naive]", "[{name: softmax.naive, axes: {seq_len: 0}}]"),
         "s.yaml:4:50: axes of softmax.naive.seq_len must be a positive integer, got 0 "
         "(an integer)"),
    ],
)  # fmt: skip
def test_refusals_word_for_word(text: str, expected: str) -> None:
    assert message(text) == expected


def test_a_repeat_from_an_override_has_no_line_to_point_at() -> None:
    assert message(S, ("axes.seq_len=[16, 16]",)) == (
        "--set axes.seq_len=[16, 16]: axes.seq_len lists 16 twice (first at earlier)" + UNIQUE
    )


def test_values_at_the_limits_are_accepted() -> None:
    suite = load_suite_text(
        S + "power: {throttle_fraction: 1, cooldown_s: 0}\n"
        "timing: {max_time_s: 0.001, min_time_ms: 0, warmup_ms: 0}\n"
    )
    assert (suite.power.throttle_fraction, suite.power.cooldown_s) == (1.0, 0.0)
    assert (suite.timing.max_time_s, suite.timing.min_time_ms, suite.timing.warmup_ms) == (
        0.001, 0.0, 0.0)  # fmt: skip
    assert isinstance(suite.timing.warmup_ms, float)


def test_text_is_kept_as_written() -> None:
    assert load_suite_text(S.replace("name: t", "name: 1.50")).name == "1.50"
    assert load_suite_text(S.replace("name: t", "name: 'true'")).name == "true"
    assert load_suite_text(S.replace("name: t", "name: yes")).name == "yes"
