"""Renderings of a verdict: the Markdown limit for any suite size, one mark per verdict."""

from __future__ import annotations

import pytest

from attnbench.compare.gate import gate_runs
from attnbench.compare.policy import CaseSettings
from attnbench.compare.verdict import MARKS, VERDICTS
from attnbench.report.gate_console import counts_text, gate_table
from attnbench.report.gate_text import MAX_MARKDOWN_CHARS, gate_markdown
from tests.compare.helpers import case, run, samples
from tests.report.conftest import plain_console


def test_one_distinct_mark_per_verdict() -> None:
    marks = [MARKS[v] for v in VERDICTS]
    assert len(set(marks)) == len(marks) and all(m.strip() for m in marks)


@pytest.mark.parametrize("cases", [10, 600])
def test_markdown_stays_under_the_comment_limit(cases: int) -> None:
    long = "softmax.naive_with_a_really_long_plugin_variant_name_that_goes_on"
    base = run([case(long, 16 + i, samples(1.0, 20, 0.02, i)) for i in range(cases)])
    cur = run(
        [
            case(long, 16 + i, samples(1.3 if i % 2 else 1.0, 20, 0.02, 10_000 + i))
            for i in range(cases)
        ]
    )
    result = gate_runs(base, cur, defaults=CaseSettings())
    text = gate_markdown(result)
    assert len(text) <= MAX_MARKDOWN_CHARS
    assert text.startswith("### attnbench gate")
    assert text.index("**Regressions") < text.index("<details>") < text.index("</details>")
    if cases > 100:
        assert "more cases not shown here" in text and "--format json" in text
    else:
        assert "not shown" not in text and text.count(f"`{long}/") == cases + counts(result)


def counts(result) -> int:  # type: ignore[no-untyped-def]
    """Rows also listed under Regressions (shown twice in a small comment)."""
    return len(result.regressions())


def test_passing_markdown_has_no_regressions_section() -> None:
    base = run([case("softmax.naive", 64, samples(1.0))])
    cur = run([case("softmax.naive", 64, samples(1.0, seed=5))])
    text = gate_markdown(gate_runs(base, cur, defaults=CaseSettings()))
    assert "PASS (exit 0)" in text and "Regressions" not in text


def test_table_lists_the_most_serious_first() -> None:
    base = run([case("softmax.naive", n, samples(1.0, seed=n)) for n in (16, 32, 48)])
    cur = run(
        [
            case("softmax.naive", 16, samples(1.0, seed=99)),
            case("softmax.naive", 32, samples(1.3, seed=98)),
            case("softmax.naive", 48, status="failed", reason="boom"),
        ]
    )
    result = gate_runs(base, cur, defaults=CaseSettings())
    console = plain_console(120)
    console.print(gate_table(result))
    lines = [ln for ln in console.export_text().splitlines() if ln[:2] in ("! ", "+ ", "= ")]
    assert [ln[:2] for ln in lines] == ["! ", "+ ", "= "]
    assert counts_text(result) == "1 failed, 1 slower, 1 same"
