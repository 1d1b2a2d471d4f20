"""Comparison groups in the runner: planning, JSON contents, resume keeps groups whole."""

from __future__ import annotations

import json
from pathlib import Path

from attnbench import Case
from attnbench.results.store import load_results, save_results
from attnbench.runner import run_suite
from attnbench.runner.schedule import pending_groups, plan_groups
from attnbench.suite import load_suite_text

SUITE = """\
version: 1
name: pairs
axes: {batch: 1, heads: 2, seq_len: [32, 48], head_dim: 8}
variants: [softmax.naive, softmax.sdpa, softmax.sdpa_math]
timing: {warmup_ms: 1, warmup_max_ms: 20, min_samples: 6, min_time_ms: 1, max_time_s: 0.1,
         target_rel_iqr: 0.5}
power: {enabled: off}
check: off
"""


def _case(variant: str, n: int, causal: bool = False) -> Case:
    return Case(1, 2, n, 8, causal, "fp32", {}, variant, "fwd")


def test_plan_groups_by_group_key_in_first_seen_order() -> None:
    cases = [_case("a.x", 32), _case("a.x", 64), _case("b.y", 32), _case("b.y", 64),
             _case("b.y", 32, causal=True)]
    groups = plan_groups(cases, interleave=True)
    assert [g.key for g in groups] == ["b1-h2-n32-d8-full-fp32-fwd", "b1-h2-n64-d8-full-fp32-fwd",
                                       "b1-h2-n32-d8-causal-fp32-fwd"]
    assert [len(g.cases) for g in groups] == [2, 2, 1]
    assert [c.variant for c in groups[0].cases] == ["a.x", "b.y"]
    alone = plan_groups(cases, interleave=False)
    assert [g.cases for g in alone] == [(c,) for c in cases]
    assert not any(g.interleaved for g in alone)


def test_pending_groups_rerun_a_group_with_any_member_missing() -> None:
    groups = plan_groups([_case("a.x", 32), _case("b.y", 32), _case("a.x", 64),
                          _case("b.y", 64)], interleave=True)
    done = {c.case_id for c in groups[0].cases} | {groups[1].cases[0].case_id}
    assert pending_groups(groups, done) == [groups[1]]
    assert pending_groups(groups, done | {groups[1].cases[1].case_id}) == []


def test_json_carries_groups_and_paired_ratios(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    run_suite(load_suite_text(SUITE), "cpu", out=out)
    data = json.loads(out.read_text())
    assert data["settings"]["timing"]["interleave"] is True
    assert "order-statistic" in data["settings"]["ratio_method"]
    for key in ("ratio/to_baseline", "ratio/ci_low", "ratio/ci_high", "ratio/pairs"):
        assert key in data["metric_catalog"]
    cases = {c["case_id"]: c for c in data["cases"]}
    naive = cases["softmax.naive/b1-h2-n32-d8-full-fp32-fwd"]
    assert naive["group"] == "b1-h2-n32-d8-full-fp32-fwd"
    assert naive["baseline"] == "softmax.sdpa/b1-h2-n32-d8-full-fp32-fwd"  # the default
    m = naive["metrics"]
    assert m["ratio/ci_low"] <= m["ratio/to_baseline"] <= m["ratio/ci_high"]
    assert m["ratio/pairs"] >= 6
    assert cases[naive["baseline"]]["metrics"]["ratio/to_baseline"] == 1.0


def test_suite_baseline_and_interleave_off(tmp_path: Path) -> None:
    named = run_suite(load_suite_text(SUITE + "baseline: softmax.naive\n"), "cpu")
    assert {c.baseline.split("/")[0] for c in named.cases} == {"softmax.naive"}
    alone = run_suite(load_suite_text(SUITE.replace("target_rel_iqr: 0.5",
                                                    "target_rel_iqr: 0.5, interleave: false")),
                      "cpu")
    assert all(c.group == "" and c.baseline == "" for c in alone.cases)
    assert not any(k.startswith("ratio/") for c in alone.cases for k in c.metrics)


def test_resume_reruns_an_incomplete_group_whole(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    suite = load_suite_text(SUITE)
    first = run_suite(suite, "cpu", out=out)
    # drop one member of the n48 group, as if the run had died inside that group
    gone = "softmax.sdpa_math/b1-h2-n48-d8-full-fp32-fwd"
    partial = load_results(out)
    partial.cases = [c for c in partial.cases if c.case_id != gone]
    save_results(partial, out)
    resumed = run_suite(suite, "cpu", out=out, resume=True)
    before = {c.case_id: c.samples for c in first.cases}
    after = {c.case_id: c for c in resumed.cases}
    assert set(after) == set(before)
    for case_id, result in after.items():
        if "n32" in case_id:  # the complete group is kept as it was
            assert result.samples == before[case_id]
        else:  # every member of the incomplete group was measured again, together
            assert result.samples != before[case_id]
            assert result.baseline == "softmax.sdpa/b1-h2-n48-d8-full-fp32-fwd"
