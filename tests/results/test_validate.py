"""Result files are validated once, in load_results, against the shipped JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from attnbench.errors import ResultFileError
from attnbench.results.store import load_results, save_results
from attnbench.results.validate import json_path, result_schema, validate_result
from tests.results.test_store import sample_run


def good() -> dict[str, Any]:
    data = json.loads(json.dumps(sample_run().to_dict(), allow_nan=True).replace("Infinity", "1"))
    return data  # type: ignore[no-any-return]


def refused(data: Any) -> str:
    with pytest.raises(ResultFileError) as info:
        validate_result(data, "r.json")
    return str(info.value)


def test_json_path_spelling() -> None:
    assert json_path([]) == "$"
    assert json_path(["cases", 3, "metrics", "time/median_ms"]) == (
        '$.cases[3].metrics["time/median_ms"]')
    assert json_path(["a_b", 0]) == "$.a_b[0]"


def test_the_shipped_schema_is_a_valid_json_schema() -> None:
    schema = result_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$defs"]["case"]["properties"]["status"]["enum"] == [
        "ok", "skipped", "oom", "failed"]
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert "results/result.schema.json" in pyproject  # shipped as package data


def test_a_file_attnbench_writes_is_valid() -> None:
    validate_result(good(), "r.json")


def test_a_metric_that_is_a_string() -> None:
    data = good()
    data["cases"][0]["metrics"]["time/median_ms"] = "fast"
    assert refused(data) == (
        'r.json: $.cases[0].metrics["time/median_ms"]: expected a number or null, got "fast"')


def test_a_boolean_is_not_a_number() -> None:
    data = good()
    data["cases"][0]["metrics"]["time/median_ms"] = True
    assert "expected a number or null, got true" in refused(data)


def test_an_unknown_status() -> None:
    data = good()
    data["cases"][1]["status"] = "weird"
    assert refused(data) == ('r.json: $.cases[1].status: expected one of "ok", "skipped", '
                             '"oom", "failed", got "weird"')


def test_samples_must_be_numbers() -> None:
    data = good()
    data["cases"][0]["samples"] = [1.0, None, "x"]
    assert refused(data) == (
        "r.json: $.cases[0].samples[1]: expected a number, got null (and 1 more problem)")


def test_missing_required_keys_and_wrong_containers() -> None:
    data = good()
    del data["cases"][0]["case_id"]
    assert refused(data) == 'r.json: $.cases[0]: missing required key "case_id"'
    data = good()
    data["cases"] = {"a": 1}
    assert refused(data) == 'r.json: $.cases: expected a list, got {"a": 1}'
    data = good()
    data["cases"][0]["warnings"] = "HIGH_NOISE"
    assert "$.cases[0].warnings: expected a list" in refused(data)
    data = good()
    data["suite"]["case_count"] = -1
    assert "$.suite.case_count: expected a number >= 0, got -1" in refused(data)


def test_fields_other_engineers_add_are_allowed() -> None:
    data = good()
    data["canary"] = {"start_ms": 1.0, "end_ms": 1.1}
    data["cases"][0].update(group="g1", profile="traces/x.json", future_field=[1, 2])
    data["cases"][0]["metrics"]["ratio/to_baseline"] = 1.02
    data["cases"][0]["metrics"]["ratio/ci_low"] = None
    data["unknown_root_key"] = {"x": 1}
    validate_result(data, "r.json")
    data["cases"][0]["group"] = 1.5
    assert "$.cases[0].group: expected a string or an integer or null" in refused(data)


def test_load_results_reports_the_file_and_the_place(tmp_path: Path) -> None:
    path = save_results(sample_run(), tmp_path / "r.json")
    data = json.loads(path.read_text())
    data["cases"][0]["metrics"]["time/median_ms"] = "fast"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultFileError, match=r'r\.json: \$\.cases\[0\]\.metrics\["time/median'):
        load_results(path)


def test_bytes_that_are_not_utf8_are_located(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(b'{"schema_version": "1.0.0",\n "x": "\xff"}')
    with pytest.raises(ResultFileError, match=r"r\.json:2:8: not UTF-8 text \(byte 0xff\)"):
        load_results(path)


def test_truncated_json_says_so(tmp_path: Path) -> None:
    path = save_results(sample_run(), tmp_path / "r.json")
    path.write_text(path.read_text()[:200])
    with pytest.raises(ResultFileError, match=r"not valid JSON .the file ends early"):
        load_results(path)


def test_nan_from_other_tools_reads_as_null(tmp_path: Path) -> None:
    data = good()
    data["cases"][0]["metrics"]["time/rel_iqr"] = float("nan")
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    assert load_results(path).cases[0].metrics["time/rel_iqr"] is None
    data["cases"][0]["samples"] = [float("inf")]
    path.write_text(json.dumps(data))
    with pytest.raises(ResultFileError, match=r"\$\.cases\[0\]\.samples\[0\]: expected a number"):
        load_results(path)


def test_deep_nesting_is_refused_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ResultFileError, match=r"nested too deeply|top level is not an object"):
        load_results(path)


def test_a_directory_is_not_a_result_file(tmp_path: Path) -> None:
    with pytest.raises(ResultFileError, match="is a directory"):
        load_results(tmp_path)
