"""Field checks of result files read by compare and gate: each problem names the file and the
JSON path, and a sound run passes untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from attnbench.compare.inputs import check_fields, read_run
from attnbench.errors import ResultFileError
from attnbench.results.schema import RunResult
from tests.compare.helpers import case, run, samples, save


def _two_cases() -> RunResult:
    return run([case("softmax.naive", 64, samples(1.0)), case("softmax.naive", 128, samples(2.0))])


def test_a_sound_run_passes() -> None:
    check_fields(_two_cases(), "r.json")


def test_zero_samples_and_null_metrics_are_allowed() -> None:
    r = _two_cases()
    r.cases[1].samples = [0.0, 1.0]
    r.cases[1].metrics["energy/joules_per_call"] = None  # type: ignore[assignment]
    check_fields(r, "r.json")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("case_id", "", "r.json: cases[1].case_id: expected a non-empty string"),
        ("case_id", 7, "r.json: cases[1].case_id: expected a non-empty string"),
        ("status", 1, "r.json: cases[1]: 'status' and 'variant' must be strings"),
        ("variant", None, "r.json: cases[1]: 'status' and 'variant' must be strings"),
        ("params", [], "r.json: cases[1]: 'params' and 'metrics' must be objects"),
        ("metrics", "x", "r.json: cases[1]: 'params' and 'metrics' must be objects"),
        ("samples", {"a": 1}, "r.json: cases[1].samples: expected a list of numbers"),
        ("fingerprint", None, "r.json: cases[1].fingerprint: expected a string"),
        ("reason", 3, "r.json: cases[1].reason: expected a string"),
    ],
)
def test_each_bad_case_field_is_named(field: str, value: Any, message: str) -> None:
    r = _two_cases()
    setattr(r.cases[1], field, value)
    with pytest.raises(ResultFileError) as err:
        check_fields(r, "r.json")
    assert str(err.value) == message


@pytest.mark.parametrize("bad", [-1e-9, float("nan"), float("inf"), True, "1.0", None], ids=repr)
def test_a_bad_sample_is_named_with_its_index(bad: Any) -> None:
    r = _two_cases()
    r.cases[0].samples[3] = bad
    with pytest.raises(ResultFileError) as err:
        check_fields(r, "r.json")
    assert str(err.value) == (f"r.json: cases[0].samples[3]: expected a number >= 0, got {bad!r}")


@pytest.mark.parametrize("bad", ["fast", True, [1.0]], ids=repr)
def test_a_bad_metric_is_named_with_its_key(bad: Any) -> None:
    r = _two_cases()
    r.cases[1].metrics["time/median_ms"] = bad
    with pytest.raises(ResultFileError) as err:
        check_fields(r, "r.json")
    assert str(err.value) == (
        f"r.json: cases[1].metrics['time/median_ms']: expected a number, got {bad!r}"
    )


@pytest.mark.parametrize("name", ["settings", "environment", "git", "run"])
def test_run_level_blocks_must_be_objects(name: str) -> None:
    r = _two_cases()
    setattr(r, name, [])
    with pytest.raises(ResultFileError) as err:
        check_fields(r, "r.json")
    assert str(err.value) == f"r.json: '{name}' must be an object"


def test_read_run_returns_the_stored_run(tmp_path: Path) -> None:
    path = save(_two_cases(), tmp_path / "r.json")
    got = read_run(path)
    assert [c.case_id for c in got.cases] == [c.case_id for c in _two_cases().cases]
    assert got.cases[0].samples == _two_cases().cases[0].samples


def test_read_run_names_the_file_for_a_malformed_structure(tmp_path: Path) -> None:
    path = save(_two_cases(), tmp_path / "r.json")
    doc = json.loads(path.read_text())
    doc["cases"][0] = "not a case"
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultFileError) as err:
        read_run(path)
    assert str(path) in str(err.value)


def test_read_run_checks_fields_after_loading(tmp_path: Path) -> None:
    path = save(_two_cases(), tmp_path / "r.json")
    doc = json.loads(path.read_text())
    doc["cases"][1]["samples"][0] = -2.0
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultFileError) as err:
        read_run(path)
    assert str(err.value) == f"{path}: cases[1].samples[0]: expected a number >= 0, got -2.0"


@pytest.mark.parametrize("error", [AttributeError, TypeError, ValueError, KeyError])
def test_an_unexpected_loader_error_still_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    import attnbench.compare.inputs as inputs

    def broken(path: Path) -> RunResult:
        raise error("boom")

    monkeypatch.setattr(inputs, "load_results", broken)
    with pytest.raises(ResultFileError) as err:
        read_run(tmp_path / "r.json")
    assert str(err.value) == f"{tmp_path / 'r.json'}: malformed result file ({error('boom')})"
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_the_loaders_own_message_is_passed_through(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("{")
    with pytest.raises(ResultFileError) as err:
        read_run(path)
    assert str(err.value) == f"{path}:1:2: not valid JSON (the file ends early (truncated?))"


def test_integer_samples_and_metrics_are_numbers() -> None:
    r = _two_cases()
    r.cases[0].samples = [1, 2, 0]
    r.cases[0].metrics["time/median_ms"] = 1
    check_fields(r, "r.json")
    r.cases[0].samples = [1, 2, False]
    with pytest.raises(ResultFileError) as err:
        check_fields(r, "r.json")
    assert str(err.value) == "r.json: cases[0].samples[2]: expected a number >= 0, got False"
