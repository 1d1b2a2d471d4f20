"""``run -k PATTERN``: choose cases by their id, the way ``pytest -k`` chooses tests.

A pattern is a term or an expression of terms with ``and``, ``or``, ``not`` and parentheses
(``not`` binds tightest, then ``and``, then ``or``). A term is matched against the case id
(``softmax.naive/b1-h4-n128-d32-causal-fp32-fwd``), ignoring case:

* with a glob character (``*``, ``?``, ``[``) it must match the whole id
  (``softmax.*/*-causal-*``);
* otherwise it is a substring (``n128``, ``sinkhorn``, ``fwd_bwd``).

Several ``-k`` options select the cases that match any of them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from attnbench.errors import InputError

T = TypeVar("T")
Matcher = Callable[[str], bool]

_OPERATORS = ("and", "or", "not")
_GLOB = re.compile(r"[*?\[]")


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"(\(|\)|\s+)", text) if t and not t.isspace()]


def _term(word: str) -> Matcher:
    needle = word.lower()
    if _GLOB.search(needle):
        return lambda case_id: fnmatch.fnmatchcase(case_id.lower(), needle)
    return lambda case_id: needle in case_id.lower()


class _Parser:
    """Recursive descent over the tokens of one pattern."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.tokens = _tokens(pattern)
        self.pos = 0

    def fail(self, what: str) -> InputError:
        return InputError(
            f"-k {self.pattern!r}: {what}; write terms joined by and/or/not, e.g. "
            "-k 'sinkhorn and not causal' or -k 'softmax.*/*-n128-*'"
        )

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Matcher:
        if not self.tokens:
            raise self.fail("the pattern is empty")
        matcher = self.expr()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()!r}")
        return matcher

    def expr(self) -> Matcher:
        terms = [self.conjunction()]
        while self.peek() == "or":
            self.take()
            terms.append(self.conjunction())
        return lambda s: any(m(s) for m in terms)

    def conjunction(self) -> Matcher:
        terms = [self.negation()]
        while self.peek() == "and":
            self.take()
            terms.append(self.negation())
        return lambda s: all(m(s) for m in terms)

    def negation(self) -> Matcher:
        token = self.peek()
        if token is None:
            raise self.fail("a term is missing at the end")
        if token == "not":
            self.take()
            inner = self.negation()
            return lambda s: not inner(s)
        if token == "(":
            self.take()
            inner = self.expr()
            if self.peek() != ")":
                raise self.fail("a ')' is missing")
            self.take()
            return inner
        if token in _OPERATORS or token == ")":
            raise self.fail(f"expected a term, got {token!r}")
        return _term(self.take())


def compile_patterns(patterns: Sequence[str]) -> Matcher:
    """One matcher for several ``-k`` patterns (any of them); InputError for a bad one."""
    matchers = [_Parser(p).parse() for p in patterns]
    return lambda case_id: any(m(case_id) for m in matchers)


def select_by_keyword(
    items: Sequence[T], patterns: Sequence[str], key: Callable[[T], str]
) -> list[T]:
    """The ``items`` whose ``key`` (a case id) matches any pattern; all of them for none.

    Raises:
        InputError: a malformed pattern, or no item matches (exit 2, never an empty run).
    """
    if not patterns:
        return list(items)
    matches = compile_patterns(patterns)
    chosen = [item for item in items if matches(key(item))]
    if not chosen:
        shown = " ".join(f"-k {p!r}" for p in patterns)
        examples = ", ".join(key(item) for item in items[:3])
        raise InputError(
            f"{shown} matches none of the {len(items)} cases; case ids look like {examples}"
            " (`attnbench validate SUITE` counts them)"
        )
    return chosen
