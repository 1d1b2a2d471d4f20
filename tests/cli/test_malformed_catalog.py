"""A catalog of malformed suites and result files, each through the real CLI entry point.

Every file under ``tests/cli/data/malformed`` is refused with exit 2, a message naming the
file (and the line and column or the JSON path where there is one), and no traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import CliResult

Cli = Callable[..., CliResult]
DATA = Path(__file__).parent / "data" / "malformed"

SUITES = {
    "empty.yaml": "empty.yaml: the suite file is empty",
    "comment_only.yaml": "comment_only.yaml: the suite file is empty",
    "top_level_list.yaml": "top_level_list.yaml:1:1: a suite must be a mapping of 'key: value' "
    "lines, got a list",
    "top_level_scalar.yaml": "got 'just some text' (a string)",
    "not_utf8.yaml": "not_utf8.yaml:2:10: not UTF-8 text (byte 0xe9)",
    "duplicate_key.yaml": "duplicate_key.yaml:3:1: duplicate key 'name' (first given at line 2)",
    "future_version.yaml": "future_version.yaml:1:10: unsupported suite version 2",
    "version_string.yaml": "unsupported suite version '1'",
    "infinite_number.yaml": "infinite_number.yaml:5:22: non-finite number .inf is not allowed",
    "nan_number.yaml": "nan_number.yaml:5:26: non-finite number .nan is not allowed",
    "alias_bomb.yaml": "alias_bomb.yaml:6:5: the YAML expands to more than 200,000 values",
    "recursive_alias.yaml": "recursive_alias.yaml:2:7: a YAML alias refers to the value that "
    "contains it",
    "huge_suite.yaml": "huge_suite.yaml: the suite expands to 100,000,000 cases, more than the "
    "limit of 100,000",
    "impossible_date.yaml": "impossible_date.yaml:5:7: cannot read the value '2024-02-31'",
    "tab_indent.yaml": "YAML does not allow tabs for indentation",
    "unknown_key.yaml": "unknown_key.yaml:3:8: unknown key 'seq_lem' in axes; did you mean",
    "unknown_variant.yaml": "unknown_variant.yaml:4:12: unknown variant 'softmax.flsh'",
    "two_documents.yaml": "expected a single document",
    "python_tag.yaml": "python_tag.yaml:3:7: YAML tag !!python/object/apply:os.system is not "
    "allowed",
    "python_scalar_tag.yaml": "could not determine a constructor for the tag",
    "deep_nesting.yaml": "deep_nesting.yaml: the YAML is nested too deeply to be a suite",
    "missing_axes.yaml": "the suite is missing the required key 'axes'",
    "negative_seed.yaml": "negative_seed.yaml:5:7: seed must be an integer >= 0, got -1",
    "empty_axis.yaml": "axes.seq_len is an empty list",
    "unclosed_bracket.yaml": "unclosed_bracket.yaml:3:33: invalid YAML",
}

RESULTS = {
    "metric_string.json": 'metric_string.json: $.cases[0].metrics["time/median_ms"]: expected a '
    'number or null, got "fast"',
    "unknown_status.json": '$.cases[0].status: expected one of "ok", "skipped", "oom", "failed", '
    'got "weird"',
    "samples_not_numbers.json": '$.cases[0].samples[1]: expected a number, got "x" (and 1 more '
    "problem)",
    "missing_case_id.json": '$.cases[0]: missing required key "case_id"',
    "cases_not_a_list.json": '$.cases: expected a list, got {"a": 1}',
    "warnings_a_string.json": '$.cases[0].warnings: expected a list, got "HIGH_NOISE"',
    "params_a_list.json": "$.cases[0].params: expected an object, got [1, 2]",
    "case_count_negative.json": "$.suite.case_count: expected a number >= 0, got -3",
    "no_schema_version.json": "not an attnbench result file (no 'schema_version')",
    "future_schema.json": "newer than this attnbench understands (1.0.0). Upgrade attnbench",
    "bad_schema_version.json": "malformed schema_version 'one'",
    "top_level_list.json": "not an attnbench result file (top level is not an object)",
    "empty.json": "empty.json:1:1: not valid JSON (the file ends early",
    "truncated.json": "truncated.json:18:2: not valid JSON (the file ends early",
    "not_utf8.json": "not_utf8.json:7:13: not UTF-8 text (byte 0xe9)",
    "deep_nesting.json": "JSON nested too deeply to be a result file",
}


def test_the_catalog_covers_every_data_file() -> None:
    files = {p.name for p in DATA.iterdir()} - {"valid.json"}
    assert files == set(SUITES) | set(RESULTS)
    assert len(files) >= 25


@pytest.mark.parametrize("name", sorted(SUITES))
def test_malformed_suite_is_refused_by_validate(cli: Cli, name: str) -> None:
    r = cli("validate", str(DATA / name))
    assert r.code == 2, r.err
    assert SUITES[name] in r.err
    assert str(DATA / name) in r.err
    assert "Traceback" not in r.err and r.out == ""


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_malformed_result_is_refused_by_show(cli: Cli, name: str) -> None:
    r = cli("show", str(DATA / name))
    assert r.code == 2, r.err
    assert RESULTS[name] in r.err
    assert str(DATA / name) in r.err
    assert "Traceback" not in r.err and r.out == ""


def test_the_unbroken_result_file_is_shown(cli: Cli) -> None:
    r = cli("show", str(DATA / "valid.json"))
    assert r.code == 0, r.err
    assert "softmax.naive" in r.out
