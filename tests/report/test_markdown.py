"""Markdown for pull-request comments: golden text and escaping."""

from __future__ import annotations

from attnbench.report.markdown import escape, to_markdown
from attnbench.results.schema import RunResult
from tests.report.conftest import bad_case, check_golden


def test_to_markdown_golden(run_result: RunResult) -> None:
    check_golden("run.md", to_markdown(run_result))


def test_table_is_github_flavoured(run_result: RunResult) -> None:
    lines = to_markdown(run_result).splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + len(run_result.cases)  # header, rule, one row per case
    assert set(table[1]) <= {"|", "-", ":"}
    widths = {line.count("|") for line in table}
    assert widths == {12}  # 11 columns, no stray pipes


def test_reasons_are_numbered_like_the_marks(run_result: RunResult) -> None:
    text = to_markdown(run_result)
    assert "| [2]" in text
    assert "2. oom: CUDA out of memory." in text
    assert "- `NUMERICAL_MISMATCH`: output disagrees with the reference" in text


def test_cells_are_escaped() -> None:
    assert escape("a|b") == "a\\|b"
    assert escape("~1 GiB") == "\\~1 GiB"
    assert escape("x\\y\nz") == "x\\\\y z"
    case = bad_case("cog.naive", {"seq_len": 8, "causal": False}, "failed", "bad | pipe")
    run = RunResult(suite={"name": "s|t"}, environment={}, settings={}, cases=[case])
    text = to_markdown(run)
    assert "1. failed: bad \\| pipe" in text
    assert "**s\\|t on cpu: unknown**" in text


def test_ends_with_one_newline(run_result: RunResult) -> None:
    text = to_markdown(run_result)
    assert text.endswith("\n") and not text.endswith("\n\n")
