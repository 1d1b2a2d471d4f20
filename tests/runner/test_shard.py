"""Cost-balanced sharding: groups whole, every case once, balanced by cost, deterministic."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from attnbench import Case
from attnbench.results.store import load_results
from attnbench.runner import select_cases
from attnbench.runner.shard import (
    CASE_FIXED_S,
    case_cost_s,
    groups,
    partition,
    shard_cases,
)
from attnbench.suite import load_suite
from attnbench.suite.expand import expand
from attnbench.suite.schema import TimingSettings
from tests.cli.conftest import CliResult

Cli = Callable[..., CliResult]

VARIANTS = ("softmax.naive", "softmax.sdpa", "cog.naive")


def sweep(lengths: list[int], variant_names: tuple[str, ...] = VARIANTS) -> list[Case]:
    """Cases in suite order (variant, then length, then mask)."""
    return [
        Case(1, 4, n, 32, causal=c, variant=v)
        for v in variant_names
        for n in lengths
        for c in (False, True)
    ]


def spread(costs: list[float]) -> float:
    return max(costs) - min(costs)


@pytest.mark.parametrize("parts", [1, 2, 3, 4, 7])
def test_every_case_once_groups_whole(parts: int) -> None:
    cases = sweep([64, 128, 256, 512, 1024, 2048])
    split = partition(cases, parts)
    seen = [c for p in split for c in p.cases]
    assert sorted(c.case_id for c in seen) == sorted(c.case_id for c in cases)
    assert len(seen) == len(cases)
    where = {c.case_id: p.index for p in split for c in p.cases}
    for idx in groups(cases).values():
        assert len({where[cases[i].case_id] for i in idx}) == 1  # a group never splits
    for p in split:  # suite order inside a part
        order = [cases.index(c) for c in p.cases]
        assert order == sorted(order)


def test_balanced_by_cost_within_the_largest_group() -> None:
    cases = sweep([64, 128, 256, 512, 1024, 2048, 4096])
    timing = TimingSettings(min_samples=50, min_time_ms=0, max_time_s=100)
    by_key = groups(cases)
    largest = max(sum(case_cost_s(cases[i], timing) for i in idx) for idx in by_key.values())
    for parts in (2, 3, 4):
        split = partition(cases, parts, timing)
        costs = [p.cost_s for p in split]
        assert spread(costs) <= largest
        assert sum(costs) == pytest.approx(sum(case_cost_s(c, timing) for c in cases))


def test_cost_not_count_decides() -> None:
    # one 8K group costs more than all the short ones together
    cases = sweep([8192, 32, 48, 64, 80, 96, 112, 128])
    timing = TimingSettings(min_samples=20, min_time_ms=0, max_time_s=1000)
    a, b = partition(cases, 2, timing)
    big, small = (a, b) if any(c.seq_len == 8192 for c in a.cases) else (b, a)
    assert {c.seq_len for c in big.cases} == {8192}  # the long group alone on one part
    assert len(big.cases) < len(small.cases)
    # round-robin would have split the counts evenly and the cost badly
    robin = [cases[0::2], cases[1::2]]
    robin_costs = [sum(case_cost_s(c, timing) for c in part) for part in robin]
    assert spread([a.cost_s, b.cost_s]) < spread(robin_costs)


def test_cost_model_grows_with_flops_and_respects_the_timing_caps() -> None:
    timing = TimingSettings(warmup_ms=0, min_samples=10, min_time_ms=0, max_time_s=100)
    short = Case(1, 4, 128, 32, variant="softmax.naive")
    long = short.replace(seq_len=4096)
    assert case_cost_s(long, timing) > case_cost_s(short, timing) > CASE_FIXED_S
    capped = TimingSettings(warmup_ms=0, min_samples=10_000, min_time_ms=0, max_time_s=0.5)
    assert case_cost_s(long, capped) < case_cost_s(long, timing.__class__(
        warmup_ms=0, min_samples=10_000, min_time_ms=0, max_time_s=1e6))
    assert case_cost_s(Case(1, 1, 8, 8), timing) == pytest.approx(CASE_FIXED_S)  # no variant


def test_deterministic_and_bounds() -> None:
    cases = sweep([64, 256, 1024])
    assert partition(cases, 3) == partition(list(cases), 3)
    assert shard_cases(cases, 1, 1) == cases
    with pytest.raises(ValueError):
        shard_cases(cases, 0, 2)
    with pytest.raises(ValueError):
        shard_cases(cases, 3, 2)
    with pytest.raises(ValueError):
        partition(cases, 0)
    one_group = [c for c in cases if c.group_key == cases[0].group_key]
    assert len(one_group) == len(VARIANTS)
    more_parts = partition(one_group, 4)  # one group, four parts: three stay empty
    assert sorted(len(p.cases) for p in more_parts) == [0, 0, 0, len(VARIANTS)]


def test_select_cases_shards_then_caps() -> None:
    cases = sweep([64, 256, 1024])
    first = select_cases(cases, (1, 2), None)
    second = select_cases(cases, (2, 2), None)
    assert {c.case_id for c in first} | {c.case_id for c in second} == {
        c.case_id for c in cases}
    assert not {c.case_id for c in first} & {c.case_id for c in second}
    assert select_cases(cases, (1, 2), 2) == first[:2]


def test_shards_merged_equal_the_whole_suite(cli: Cli, tiny_suite: Path, tmp_path: Path) -> None:
    parts = []
    for k in (1, 2):
        part = tmp_path / f"p{k}.json"
        r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(part), "--shard", f"{k}/2", "-q")
        assert r.code == 0, r.err
        parts.append(part)
    merged = tmp_path / "all.json"
    r = cli("merge", *map(str, parts), "--out", str(merged))
    assert r.code == 0, r.err
    run = load_results(merged)
    whole = [c.case_id for c in expand(load_suite(tiny_suite))]
    ids = [c.case_id for c in run.cases]
    assert sorted(ids) == sorted(whole) and len(ids) == len(set(ids))
    assert [p["shard"] for p in run.run["parts"]] == ["1/2", "2/2"]
    timing = load_suite(tiny_suite).timing
    costs = [sum(case_cost_s(c, timing) for c in select_cases(expand(load_suite(tiny_suite)),
                                                               (k, 2), None, timing))
             for k in (1, 2)]
    by_key = groups(expand(load_suite(tiny_suite)))
    cases = expand(load_suite(tiny_suite))
    largest = max(sum(case_cost_s(cases[i], timing) for i in idx) for idx in by_key.values())
    assert spread(costs) <= largest
