"""``-k PATTERN``: substrings, globs, and/or/not, several patterns, mistakes."""

from __future__ import annotations

import pytest

from attnbench.errors import InputError
from attnbench.suite.keyword import compile_patterns, select_by_keyword

IDS = [
    "softmax.naive/b1-h2-n32-d8-full-fp32-fwd",
    "softmax.naive/b1-h2-n32-d8-causal-fp32-fwd",
    "softmax.sdpa_math/b1-h2-n47-d8-full-fp32-fwd",
    "sinkhorn.naive/b1-h2-n47-d8-full-fp32-fwd-iters5",
]


def chosen(*patterns: str) -> list[str]:
    return select_by_keyword(IDS, patterns, lambda s: s)


def test_substring_ignores_case_and_glob_matches_the_whole_id() -> None:
    assert chosen("CAUSAL") == [IDS[1]]
    assert chosen("softmax.*/*-n47-*") == [IDS[2]]
    assert chosen("*-n47-*") == IDS[2:]
    assert chosen("n47-d8") == IDS[2:]


def test_and_or_not_and_parentheses() -> None:
    assert chosen("softmax and not causal") == [IDS[0], IDS[2]]
    assert chosen("causal or iters5") == [IDS[1], IDS[3]]
    nothing = compile_patterns(["not (softmax or iters5)"])
    assert not any(nothing(i) for i in IDS)
    assert chosen("(naive or math) and n47") == IDS[2:]
    assert chosen("not not causal") == [IDS[1]]


def test_several_patterns_are_or() -> None:
    assert chosen("causal", "iters5") == [IDS[1], IDS[3]]


def test_no_pattern_keeps_everything() -> None:
    assert chosen() == IDS


def test_no_match_is_an_error_with_examples() -> None:
    with pytest.raises(InputError, match="matches none of the 4 cases; case ids look like"):
        chosen("flash")


@pytest.mark.parametrize("bad", ["", "causal and", "and causal", "(causal", "causal)", "not"])
def test_malformed_patterns_are_errors(bad: str) -> None:
    with pytest.raises(InputError, match="-k"):
        compile_patterns([bad])


HINT = (
    "; write terms joined by and/or/not, e.g. -k 'sinkhorn and not causal' or "
    "-k 'softmax.*/*-n128-*'"
)


@pytest.mark.parametrize(
    ("bad", "problem"),
    [("", "the pattern is empty"), ("causal and", "a term is missing at the end"),
     ("not", "a term is missing at the end"), ("and causal", "expected a term, got 'and'"),
     ("()", "expected a term, got ')'"), ("a or or b", "expected a term, got 'or'"),
     ("(causal", "a ')' is missing"), ("causal)", "unexpected ')'"),
     ("causal AND fp32", "unexpected 'AND'"), ("x y", "unexpected 'y'")],
)  # fmt: skip
def test_malformed_pattern_messages_word_for_word(bad: str, problem: str) -> None:
    with pytest.raises(InputError) as err:
        compile_patterns([bad])
    assert str(err.value) == f"-k {bad!r}: {problem}" + HINT


def test_no_match_names_the_patterns_the_count_and_three_ids() -> None:
    with pytest.raises(InputError) as err:
        chosen("flash", "iters9")
    assert str(err.value) == (
        f"-k 'flash' -k 'iters9' matches none of the 4 cases; case ids look like {IDS[0]}, "
        f"{IDS[1]}, {IDS[2]} (`attnbench validate SUITE` counts them)"
    )


def test_globs_ignore_case_and_parentheses_need_no_spaces() -> None:
    assert chosen("SOFTMAX.*/*-N47-*") == [IDS[2]]
    assert chosen("(causal)or(iters5)") == [IDS[1], IDS[3]]
    assert chosen("not causal and fp32 and n32") == [IDS[0]]
