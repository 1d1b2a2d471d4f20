"""Result files are validated once, in load_results, against the shipped JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from attnbench.errors import ResultFileError
from attnbench.results.store import load_results, save_results
from attnbench.results.validate import (
    json_path,
    parse_result_text,
    result_schema,
    validate_result,
)
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


# ---------------------------------------------------------------- message details, exactly
def test_json_path_quotes_keys_that_are_not_identifiers_at_any_position() -> None:
    assert json_path(["1x", "y"]) == '$["1x"].y'
    assert json_path([0, "a"]) == "$[0].a"
    assert json_path(["a b", 2, "c"]) == '$["a b"][2].c'


def test_an_empty_case_id_and_a_malformed_version() -> None:
    data = good()
    data["cases"][0]["case_id"] = ""
    assert refused(data) == 'r.json: $.cases[0].case_id: expected a non-empty string, got ""'
    data = good()
    data["schema_version"] = "1.0"
    assert refused(data) == (
        r'r.json: $.schema_version: expected text matching ^[0-9]+\.[0-9]+\.[0-9]+$, got "1.0"'
    )


def test_a_missing_key_after_the_first_is_named() -> None:
    data = good()
    del data["cases"][0]["status"]
    assert refused(data) == 'r.json: $.cases[0]: missing required key "status"'


@pytest.mark.parametrize(
    ("value", "shown"),
    [("x" * 58, '"' + "x" * 58 + '"'),  # 60 characters: shown whole
     ("x" * 59, '"' + "x" * 58 + "…"),  # 61: cut to 59 and an ellipsis
     ("ééé", '"ééé"'),  # not escaped
     (float("inf"), "Infinity")],  # an overflowing number in a file reads as inf
)  # fmt: skip
def test_the_offending_value_is_shown_short_and_readable(value: Any, shown: str) -> None:
    data = good()
    data["cases"][0]["status"] = value
    assert refused(data) == (
        f'r.json: $.cases[0].status: expected one of "ok", "skipped", "oom", "failed", got {shown}'
    )


def test_the_first_problem_in_document_order_is_reported() -> None:
    # a schema error in an earlier case comes before a bulk (metrics/samples) problem
    data = good()
    data["cases"][1]["metrics"] = {"m": "x"}
    data["cases"][0]["status"] = "weird"
    assert refused(data).startswith('r.json: $.cases[0].status: expected one of "ok"')
    assert refused(data).endswith('got "weird" (and 1 more problem)')
    # within one case, and in a later case, the bulk problem comes first
    for later in (0, 1):
        data = good()
        data["cases"][0]["metrics"]["m"] = "x"
        data["cases"][later]["status"] = "weird"
        assert refused(data) == (
            'r.json: $.cases[0].metrics.m: expected a number or null, got "x" '
            "(and 1 more problem)"
        )
    # problems outside the cases come before any case
    data = good()
    data["suite"]["case_count"] = -1
    data["cases"][0]["metrics"]["m"] = "x"
    assert refused(data) == (
        "r.json: $.suite.case_count: expected a number >= 0, got -1 (and 1 more problem)"
    )
    data = good()
    del data["environment"]
    data["cases"][0]["metrics"]["m"] = "x"
    assert refused(data) == 'r.json: $: missing required key "environment" (and 1 more problem)'


def test_a_case_that_is_not_an_object_does_not_hide_later_cases() -> None:
    data = good()
    data["cases"].insert(0, 1)
    data["cases"][2]["metrics"]["m"] = "x"
    assert refused(data) == "r.json: $.cases[0]: expected an object, got 1 (and 1 more problem)"
    data["cases"][2]["samples"] = [1, "a", "b"]
    assert refused(data) == "r.json: $.cases[0]: expected an object, got 1 (and 3 more problems)"


def test_every_bulk_problem_is_counted_once() -> None:
    data = good()
    data["cases"][0]["samples"] = [1, "a", "b"]
    data["cases"][0]["metrics"]["q"] = "z"
    assert refused(data) == (
        'r.json: $.cases[0].samples[1]: expected a number, got "a" (and 2 more problems)'
    )
    data = good()
    data["cases"][0]["samples"] = [1, 2.5]
    validate_result(data, "r.json")  # ints and floats together are numbers
    data["cases"][0]["samples"] = [True]
    assert refused(data) == "r.json: $.cases[0].samples[0]: expected a number, got true"
    assert refused([1]) == "r.json: $: expected an object, got [1]"
    assert refused({"cases": 5}) == (
        'r.json: $: missing required key "schema_version" (and 4 more problems)')


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"\xff{}", "r.json:1:1: not UTF-8 text (byte 0xff); a result file is UTF-8 JSON"),
     (b"{}\n\xc3\n", "r.json:2:1: not UTF-8 text (byte 0xc3); a result file is UTF-8 JSON"),
     (b"\n\xff", "r.json:2:1: not UTF-8 text (byte 0xff); a result file is UTF-8 JSON"),
     (b'{\n\n  "\xff"}', "r.json:3:4: not UTF-8 text (byte 0xff); a result file is UTF-8 JSON"),
     (b'{"a":\n  "\xe9"}', "r.json:2:4: not UTF-8 text (byte 0xe9); a result file is UTF-8 JSON"),
     (b'{"a": 1', "r.json:1:8: not valid JSON (the file ends early (truncated?))"),
     (b'{"a": 1   \n', "r.json:2:1: not valid JSON (the file ends early (truncated?))"),
     (b'{"a": "abc', "r.json:1:7: not valid JSON (the file ends early (truncated?))"),
     (b'{"a": 1}}', "r.json:1:9: not valid JSON (Extra data)"),
     (b'{"a" 1}', "r.json:1:6: not valid JSON (Expecting ':' delimiter)"),
     (b"[" * 100_000 + b"]" * 100_000, "r.json: JSON nested too deeply to be a result file")],
)  # fmt: skip
def test_parse_errors_are_located(data: bytes, message: str) -> None:
    with pytest.raises(ResultFileError) as info:
        parse_result_text(data, "r.json")
    assert str(info.value) == message


def test_an_integer_too_long_to_convert_is_refused() -> None:
    with pytest.raises(ResultFileError) as info:
        parse_result_text(b'{"a": ' + b"9" * 5000 + b"}", "r.json")
    # the rest of the text is Python's own (it names the 4300-digit limit)
    assert str(info.value).startswith("r.json: not a valid result file: Exceeds the limit")


def test_non_finite_constants_read_as_null() -> None:
    assert parse_result_text(b'{"a": NaN, "b": -Infinity, "c": Infinity, "d": 1.5}', "r") == {
        "a": None, "b": None, "c": None, "d": 1.5}  # fmt: skip


def test_a_problem_with_a_whole_case_is_ordered_by_its_case_too() -> None:
    data = good()
    data["cases"][0]["metrics"]["m"] = "x"
    del data["cases"][1]["status"]  # the error sits at $.cases[1] itself
    assert refused(data) == (
        'r.json: $.cases[0].metrics.m: expected a number or null, got "x" (and 1 more problem)'
    )


def test_a_number_too_large_for_a_double_reads_as_null_and_is_refused_where_one_is_needed(
    tmp_path: Path,
) -> None:
    assert parse_result_text(b'{"a": 1e999, "b": -1e999, "c": 1e308, "d": 2}', "r") == {
        "a": None, "b": None, "c": 1e308, "d": 2}  # fmt: skip
    text = json.dumps(good()).replace('"samples": [', '"samples": [1e999, ', 1)
    path = tmp_path / "r.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ResultFileError) as info:
        load_results(path)
    assert "$.cases[0].samples[0]: expected a number, got null" in str(info.value)
