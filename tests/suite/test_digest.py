"""The suite's identity: the parsed document, its hash, and what changed between two."""

from __future__ import annotations

import hashlib

from attnbench.suite.digest import changes, digest, document
from attnbench.suite.yamlpos import parse


def test_document_keeps_yaml_words_and_plain_values() -> None:
    text = (
        "a: on\nb: Off\nc: yes\nd: NO\ne: y\nf: n\ng: true\nh: 2024-01-02\ni: 1.5\n"
        "j: [1, 'x', null]\nk: 'on'\nl: False\nm: {n: 3}\n"
    )
    assert document(parse(text, "s.yaml")) == {
        "a": "on", "b": "Off", "c": "yes", "d": "NO", "e": "y", "f": "n",  # words stay words
        "g": True, "l": False,  # real booleans stay booleans
        "h": "2024-01-02",  # a date as its text
        "i": 1.5, "j": [1, "x", None], "k": "on", "m": {"n": 3},
    }  # fmt: skip
    assert document(None) is None


def test_digest_is_the_sha256_of_canonical_json() -> None:
    doc = {"b": 1, "a": [1, "é", None]}
    canonical = '{"a":[1,"\\u00e9",null],"b":1}'  # ASCII-only JSON
    assert digest(doc) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert digest({"a": [1, "é", None], "b": 1}) == digest(doc)  # key order does not count


def test_changes_name_each_difference_by_its_dotted_key() -> None:
    old = {"a": 1, "b": {"c": [1]}, "e": "x"}
    new = {"a": 2, "b": {"c": [2]}, "d": None, "e": "x"}
    assert changes(old, new) == ["a: 1 -> 2", "b.c: [1] -> [2]", "d: (absent) -> null"]
    assert changes(new, old) == ["a: 2 -> 1", "b.c: [2] -> [1]", "d: null -> (absent)"]
    assert changes({"a": {"x": 1}}, {"a": 5}, path="top") == ['top.a: {"x": 1} -> 5']
    assert changes(1, "1") == ['(the whole suite): 1 -> "1"']
    assert changes(old, dict(old)) == []


def test_changes_are_capped_with_a_count_of_the_rest() -> None:
    old = {f"k{i}": i for i in range(1, 11)}
    new = {f"k{i}": -i for i in range(1, 11)}
    shown = [f"k{i}: {i} -> {-i}" for i in range(1, 11)]
    assert changes(old, new) == [*shown[:8], "... and 2 more"]
    assert changes(old, new, limit=9) == [*shown[:9], "... and 1 more"]
    assert changes(old, new, limit=10) == shown
