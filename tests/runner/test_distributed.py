"""torchrun ranks: detection, one GPU per rank, and real two-process gloo runs on the CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from attnbench import Case, variants
from attnbench.errors import EnvironmentUnavailable, InputError
from attnbench.results.store import load_results
from attnbench.runner import run_suite
from attnbench.runner.distributed import (
    RankInfo,
    detect,
    is_root_process,
    part_path,
    rank_device,
)
from attnbench.suite import load_suite
from attnbench.variants.registry import _classes, _defaults
from tests.runner.killer_variant import KILL_RANK_ENV, Killer

SUITE = """\
version: 1
name: ranks
dtype: fp32
pass: [fwd]
axes: {batch: 1, heads: 2, seq_len: [16, 24, 32, 40], head_dim: 8, causal: [false, true]}
variants: [softmax.naive, VARIANT]
timing: {warmup_ms: 0, min_samples: 1, min_time_ms: 0, max_time_s: 0.01, target_rel_iqr: 1.0}
power: {enabled: off}
check: off
"""


def test_detect_reads_the_torchrun_variables() -> None:
    assert detect({}) is None
    assert detect({"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}) is None  # world of one
    assert detect({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == RankInfo(3, 4, 1)
    assert is_root_process({}) and is_root_process({"RANK": "0", "WORLD_SIZE": "2"})
    assert not is_root_process({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    with pytest.raises(InputError, match="not integers"):
        detect({"RANK": "x", "WORLD_SIZE": "2"})
    with pytest.raises(InputError, match="inconsistent"):
        detect({"RANK": "2", "WORLD_SIZE": "2"})


def test_each_rank_gets_its_own_gpu_or_is_refused() -> None:
    info = RankInfo(rank=5, world_size=8, local_rank=1)
    assert rank_device(info, "cuda", cuda_count=2) == "cuda:1"
    assert rank_device(info, "auto", cuda_count=2) == "cuda:1"
    assert rank_device(info, "auto", cuda_count=0) == "cpu"
    assert rank_device(info, "cpu", cuda_count=2) == "cpu"
    with pytest.raises(EnvironmentUnavailable, match="LOCAL_RANK 1 but this node shows 1 GPU"):
        rank_device(info, "cuda", cuda_count=1)
    with pytest.raises(EnvironmentUnavailable, match="never share a GPU"):
        rank_device(RankInfo(0, 2, 0), "cuda", cuda_count=0)
    with pytest.raises(InputError, match="every rank on one GPU"):
        rank_device(info, "cuda:0", cuda_count=2)
    with pytest.raises(InputError, match="unknown device"):
        rank_device(info, "tpu", cuda_count=2)


def test_part_paths_are_per_rank() -> None:
    out = Path("res/run.json")
    assert part_path(out, RankInfo(1, 4, 1)) == Path("res/run.rank1of4.json")
    assert part_path(out, RankInfo(0, 4, 0)) != part_path(out, RankInfo(1, 4, 1))


def torchrun(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
           "2", "-m", "attnbench", "run", *args]
    import os

    return subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def write_suite(tmp_path: Path, variant: str) -> Path:
    path = tmp_path / "ranks.yaml"
    path.write_text(SUITE.replace("VARIANT", variant))
    return path


def test_two_gloo_ranks_write_one_file_equal_to_a_single_process_run(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, "softmax.sdpa_math")
    out = tmp_path / "r.json"
    r = torchrun(str(suite), "-d", "cpu", "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr[-3000:]
    run = load_results(out)
    single = run_suite(load_suite(suite), "cpu")
    ids = [c.case_id for c in run.cases]
    assert len(ids) == len(set(ids))  # no duplicate
    assert set(ids) == {c.case_id for c in single.cases}
    assert run.run["completed"] is True and run.run["world_size"] == 2
    assert run.run["gathered"] == "torch.distributed"
    parts = run.run["parts"]
    assert [p["rank"] for p in parts] == [0, 1]
    assert all(p["environment"]["python"] and p["device"]["kind"] == "cpu" for p in parts)
    assert sorted(i for p in parts for i in p["case_ids"]) == sorted(ids)
    assert all(p["case_ids"] for p in parts)  # both ranks did work
    assert sorted(f.name for f in tmp_path.iterdir()) == ["r.json", "ranks.yaml"]  # parts gone


def test_a_rank_killed_outright_loses_only_its_case_in_flight(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, "testonly.killer")
    # one case at a time, so the loss is exactly the case in flight (interleaved, it is the
    # comparison group in flight: the killer shares each shape with softmax.naive)
    suite.write_text(suite.read_text().replace("target_rel_iqr: 1.0}",
                                               "target_rel_iqr: 1.0, interleave: false}"))
    out = tmp_path / "r.json"
    args = (str(suite), "--plugin", "tests.runner.killer", "-d", "cpu", "-o", str(out), "-q")
    r = torchrun(*args, env={KILL_RANK_ENV: "1"})
    assert r.returncode != 0
    run = load_results(out)
    everything = {c.case_id for c in run_suite_cases(suite)}
    recorded = {c.case_id for c in run.cases}
    lost = set(run.run["lost_cases"])
    assert run.run["completed"] is False and run.run["gathered"] == "part files"
    assert recorded | lost == everything and not recorded & lost
    # rank 1 runs its softmax.naive cases first, then dies on its first killer call: every
    # naive case it finished came back from its journal
    rank1 = next(p for p in run.run["parts"] if p["rank"] == 1)
    assert rank1["case_ids"] and all(i.startswith("softmax.naive/") for i in rank1["case_ids"])
    assert any(i.startswith("testonly.killer/") for i in lost)
    assert part_path(out, RankInfo(1, 2, 1)).exists()  # kept for --resume

    r = torchrun(*args, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    final = load_results(out)
    ids = [c.case_id for c in final.cases]
    assert set(ids) == everything and len(ids) == len(set(ids))
    assert "lost_cases" not in final.run and final.run["completed"] is True
    before = {c.case_id: c.samples for c in run.cases}
    for case in final.cases:
        if case.case_id in before:
            assert case.samples == before[case.case_id]  # measured once, kept


def run_suite_cases(suite: Path) -> list[Case]:
    """The suite's cases, with testonly.killer registered here only while expanding."""
    from attnbench.suite.expand import expand

    registered = "testonly.killer" in variants.names()
    if not registered:
        variants.register(Killer)
    try:
        return list(expand(load_suite(suite)))
    finally:
        if not registered:
            _classes.pop("testonly.killer", None)
            _defaults.pop("testonly", None)
