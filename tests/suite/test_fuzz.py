"""Fuzzing the suite loader: every input ends in a Suite or an AttnbenchError with a message.

Generated documents (YAML dumped from random trees built from the suite's own vocabulary)
and mutations of a valid suite (characters deleted, inserted, replaced; lines swapped) are
loaded; anything other than a Suite or an :class:`AttnbenchError` fails the test. Examples
are bounded so the module takes a few seconds.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnbench.errors import AttnbenchError
from attnbench.suite.loader import load_suite_text
from attnbench.suite.schema import Suite

VALID = """\
version: 1
name: fuzz
dtype: [fp32]
pass: [fwd]
axes: {batch: 1, heads: [2], seq_len: [16, 32], head_dim: 8, causal: [false, true]}
variants:
  - softmax.naive
  - {name: sinkhorn, params: {iters: [1, 3]}, axes: {causal: [false]}}
timing: {warmup_ms: 1, min_samples: 3, min_time_ms: 1, max_time_s: 0.05}
power: {enabled: off}
check: reduced
seed: 0
"""
KEYS = ["version", "name", "axes", "variants", "seq_len", "head_dim", "batch", "heads",
        "causal", "dtype", "pass", "timing", "power", "params", "impl", "check", "seed",
        "iters", "min_samples", "max_time_s", "enabled", "device", "<<", "x"]
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["softmax.naive", "fp32", "fwd", "cpu", "sinkhorn", "reduced", "1", "on"]),
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=25,
)


def outcome(text: str) -> Suite | AttnbenchError:
    try:
        return load_suite_text(text, "fuzz.yaml", max_total_cases=500)
    except AttnbenchError as exc:
        assert str(exc).strip(), "an error without a message"
        return exc


def test_the_valid_seed_loads() -> None:
    assert isinstance(outcome(VALID), Suite)


@FUZZ
@given(trees)
def test_generated_documents(tree: Any) -> None:
    outcome(yaml.safe_dump(tree, allow_unicode=True))


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS[:4] + KEYS[9:13]), trees, max_size=6))
def test_generated_suites_near_the_schema(tree: dict[str, Any]) -> None:
    outcome(yaml.safe_dump({"version": 1, "name": "g", **tree}))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["del", "ins", "rep", "swap"]),
                          st.integers(0, len(VALID)), st.text(min_size=1, max_size=3)),
                min_size=1, max_size=6))
def test_mutations_of_a_valid_suite(edits: list[tuple[str, int, str]]) -> None:
    text = VALID
    for op, pos, chunk in edits:
        pos %= max(len(text), 1)
        if op == "del":
            text = text[:pos] + text[pos + len(chunk):]
        elif op == "ins":
            text = text[:pos] + chunk + text[pos:]
        elif op == "rep":
            text = text[:pos] + chunk + text[pos + len(chunk):]
        else:
            lines = text.splitlines(keepends=True)
            i = pos % len(lines)
            j = (i + 1) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
    outcome(text)


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    outcome(text)
