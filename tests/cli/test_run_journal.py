"""``run`` over a result file whose run was killed: its journal is folded in before the file
is kept aside, so nothing measured is lost."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from attnbench.results.journal import ResultWriter, journal_path
from attnbench.results.schema import CaseResult, RunResult
from attnbench.results.store import load_results
from tests.cli.conftest import CliResult

Cli = Callable[..., CliResult]


def test_new_run_consolidates_a_killed_runs_journal_into_the_kept_file(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    killed = RunResult(suite={"name": "old", "content_hash": "h"}, environment={}, settings={},
                       created_utc="2026-01-01T00:00:00Z")
    writer = ResultWriter(killed, out)
    writer.start()
    writer.record(CaseResult("v.x/kept", "v.x", {}, "ok", samples=[1.0]))
    # killed here: the case is only in the journal
    r = cli("run", str(tiny_suite), "-d", "cpu", "-o", str(out), "--max-cases", "1", "-q")
    assert r.code == 0, r.err
    prev = load_results(tmp_path / "r.json.1.prev", journal=False)
    assert [c.case_id for c in prev.cases] == ["v.x/kept"]
    assert not journal_path(out).exists()
    assert len(load_results(out).cases) == 1
