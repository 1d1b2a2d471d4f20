"""Fuzzing the result reader: every file ends in a RunResult (that renders) or a ResultFileError.

Inputs are random JSON trees, mutations of a valid result file (a value anywhere replaced by
a random one, keys dropped) and byte-level damage (truncation, flipped bytes, non-UTF-8).
Readers downstream (the table, Markdown and CSV renderers of ``show``) get every file that
validates, so a file that passes the schema cannot crash them either.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnbench.cli.show import ShowFormat, render
from attnbench.errors import AttnbenchError
from attnbench.results.schema import RunResult
from attnbench.results.store import dumps, load_results
from tests.results.test_store import sample_run

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
VALID: dict[str, Any] = json.loads(dumps(sample_run()))

values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64),
              st.floats(allow_nan=False), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=10,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


ALL_PATHS = paths(VALID)[1:]


def outcome(raw: bytes) -> RunResult | AttnbenchError:
    fd, name = tempfile.mkstemp(suffix=".json")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        try:
            run = load_results(name)
        except AttnbenchError as exc:
            assert name in str(exc) and str(exc).strip()
            return exc
    finally:
        os.unlink(name)
    for fmt in ShowFormat:
        if fmt is not ShowFormat.table:
            render(run, fmt)
    return run


def test_the_valid_seed_loads() -> None:
    assert isinstance(outcome(json.dumps(VALID).encode()), RunResult)


@FUZZ
@given(values)
def test_random_json(tree: Any) -> None:
    outcome(json.dumps(tree).encode())


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(ALL_PATHS), values, st.booleans()),
                min_size=1, max_size=3))
def test_mutated_result_files(edits: list[tuple[tuple[Any, ...], Any, bool]]) -> None:
    data = copy.deepcopy(VALID)
    for path, value, drop in edits:
        parent: Any = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            if drop and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed this path
    outcome(json.dumps(data).encode())


@FUZZ
@given(st.integers(0, 10_000), st.binary(min_size=1, max_size=4), st.booleans())
def test_damaged_bytes(pos: int, chunk: bytes, truncate: bool) -> None:
    raw = json.dumps(VALID, indent=1).encode()
    pos %= len(raw)
    raw = raw[:pos] if truncate else raw[:pos] + chunk + raw[pos + len(chunk):]
    outcome(raw)
