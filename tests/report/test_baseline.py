"""``--ratio-to`` baselines: family names, pinned parameters, errors that list the choices."""

from __future__ import annotations

import pytest

from attnbench.errors import InputError
from attnbench.report.baseline import Baseline, parse_spec, ratio_rows, resolve_baseline
from attnbench.report.markdown import ratio_markdown
from attnbench.results.schema import RunResult


def test_family_name_resolves_to_its_default_implementation(run_result: RunResult) -> None:
    assert resolve_baseline(run_result, "cog") == Baseline("cog.streaming")
    assert resolve_baseline(run_result, "softmax") == Baseline("softmax.sdpa")
    assert resolve_baseline(run_result, "cog.naive") == Baseline("cog.naive")


def test_swept_parameter_must_be_pinned(run_result: RunResult) -> None:
    # sinkhorn's default (naive) is absent; the run's only sinkhorn is sinkhorn.log, whose
    # iters was swept over 1 and 5: no silent pick of the first value
    with pytest.raises(InputError) as err:
        resolve_baseline(run_result, "sinkhorn")
    message = str(err.value)
    assert "several values of iters" in message
    assert "sinkhorn.log[iters=1], sinkhorn.log[iters=5]" in message


def test_pinned_baseline_divides_by_that_parameter_value(run_result: RunResult) -> None:
    baseline = resolve_baseline(run_result, "sinkhorn.log[iters=5]")
    assert baseline == Baseline("sinkhorn.log", {"iters": 5})
    assert baseline.label == "sinkhorn.log[iters=5]"
    rows = ratio_rows(run_result, baseline)
    assert not any(baseline.matches(r.case) for r in rows)
    by_id = {r.case.case_id: r for r in rows}
    one = by_id["sinkhorn.log/b1-h16-n1024-d64-full-bf16-fwd-iters1"]
    five = next(c for c in run_result.cases
                if c.case_id == "sinkhorn.log/b1-h16-n1024-d64-full-bf16-fwd-iters5")
    assert one.baseline_ms == five.metric("time/median_ms")
    assert one.ratio == pytest.approx(one.median_ms / one.baseline_ms)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sinkhorn.log[iters=3]", "no sinkhorn.log case has iters=3; choose one of: "
                                  "sinkhorn.log[iters=1], sinkhorn.log[iters=5]"),
        ("sinkhorn.log[tau=1]", "sinkhorn.log has no parameter 'tau' in this run"),
        ("sinkhorn.log[iters]", "'iters' is not KEY=VALUE"),
        ("softmax.sdp", "Did you mean 'softmax.sdpa'?"),
        ("a]b", "write VARIANT or VARIANT[KEY=VALUE,...]"),
    ],
)
def test_baseline_mistakes(run_result: RunResult, spec: str, message: str) -> None:
    with pytest.raises(InputError, match=None) as err:
        resolve_baseline(run_result, spec)
    assert message in str(err.value)


def test_parse_spec_reads_values_as_yaml() -> None:
    assert parse_spec("multiscale.naive[scales=[1,2],tau=0.5]") == (
        "multiscale.naive", {"scales": [1, 2], "tau": 0.5})
    assert parse_spec("cog") == ("cog", {})


def test_markdown_ratio_table(run_result: RunResult) -> None:
    text = ratio_markdown(run_result, resolve_baseline(run_result, "softmax"))
    assert text.startswith("**Median time relative to `softmax.sdpa`**")
    assert "| `cog.streaming`" in text and "×" in text
