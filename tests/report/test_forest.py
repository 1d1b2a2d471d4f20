"""Gate verdict files read defensively: accepted shapes, and located errors for bad ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from attnbench.errors import InputError
from attnbench.report.forest import load_verdict, parse_verdict

GOOD: dict[str, Any] = {
    "overall": "fail",
    "threshold": 0.05,
    "cases": [
        {"case_id": "a/n1", "verdict": "slower", "ratio": 1.2, "ci_low": 1.1, "ci_high": 1.3},
        {"case_id": "a/n2", "verdict": "same", "ratio": 1.0, "ci": [0.98, 1.02]},
        {"id": "a/n3", "status": "faster", "ratio": 0.8, "interval": {"low": 0.7, "high": 0.9}},
        {"case": "a/n4", "verdict": "new", "ratio": None},
        {"case_id": "a/n5", "verdict": "missing"},
    ],
}


def test_every_accepted_shape_of_an_entry() -> None:
    v = parse_verdict(GOOD, "g.json")
    assert v.overall == "fail" and v.threshold == 0.05
    got = [(e.case_id, e.verdict, e.ratio, e.ci_low, e.ci_high) for e in v.entries]
    assert got == [
        ("a/n1", "slower", 1.2, 1.1, 1.3),
        ("a/n2", "same", 1.0, 0.98, 1.02),
        ("a/n3", "faster", 0.8, 0.7, 0.9),
        ("a/n4", "new", None, None, None),
        ("a/n5", "missing", None, None, None),
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"threshold": "5%"}, 0.05),
        ({"policy": {"threshold": 0.1}}, 0.1),
        ({"threshold": 0}, 0.0),
        ({}, None),
        ({"overall": {"verdict": "pass"}}, None),
    ],
)
def test_threshold_forms(data: dict[str, Any], expected: float | None) -> None:
    v = parse_verdict({"cases": [], **data}, "g.json")
    assert v.threshold == pytest.approx(expected) if expected is not None else v.threshold is None


def test_overall_may_be_an_object_and_the_list_may_be_called_verdicts() -> None:
    v = parse_verdict({"overall": {"verdict": "pass"}, "verdicts": []}, "g.json")
    assert v.overall == "pass" and v.entries == ()


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ([], "top level: expected an object"),
        ({"summary": {}}, "cases: expected a list"),
        ({"cases": {"a": 1}}, "cases: expected a list"),
        ({"cases": [3]}, "cases[0]: expected an object per case"),
        ({"cases": [{"verdict": "same"}]}, "cases[0]: no case id"),
        ({"cases": [{"case_id": "a", "verdict": 1}]}, "cases[0].verdict"),
        ({"cases": [{"case_id": "a", "verdict": "same", "ratio": "1.1"}]}, "cases[0].ratio"),
        ({"cases": [{"case_id": "a", "verdict": "same", "ratio": True}]}, "cases[0].ratio"),
        ({"cases": [{"case_id": "a", "verdict": "same", "ci": [1]}]}, "cases[0].ci"),
        ({"cases": [{"case_id": "a", "verdict": "x", "ci_low": "a"}]}, "cases[0].ci_low"),
        ({"cases": [], "threshold": 5}, "threshold: expected a fraction"),
        ({"cases": [], "threshold": "five%"}, "threshold: not a percentage"),
    ],
)
def test_bad_shapes_name_the_file_and_the_json_path(data: Any, where: str) -> None:
    with pytest.raises(InputError) as info:
        parse_verdict(data, "verdict.json")
    assert str(info.value).startswith("verdict.json: ")
    assert where in str(info.value)


def test_load_verdict_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="verdict file not found"):
        load_verdict(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"cases": [\n  {oops}\n]}')
    with pytest.raises(InputError, match=r"bad\.json:2:4: not valid JSON"):
        load_verdict(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    assert len(load_verdict(good).entries) == 5
