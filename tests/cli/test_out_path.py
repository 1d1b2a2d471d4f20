"""``run --out``: what may be written, what is refused untouched, locks and generations."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from attnbench.errors import InputError
from attnbench.results.outpath import (
    check_out_path,
    claim_default_out,
    is_result_file,
    keep_previous,
    lock_path,
    out_lock,
    release_claim,
)
from tests.cli.conftest import CliResult

Cli = Callable[..., CliResult]
ONE = ("-d", "cpu", "--max-cases", "1", "-q")


def _run(cli: Cli, suite: Path, out: Path | str, *extra: str) -> CliResult:
    return cli("run", str(suite), "--out", str(out), *ONE, *extra)


def test_directory_is_refused_and_left_alone(cli: Cli, tiny_suite: Path, tmp_path: Path) -> None:
    folder = tmp_path / "existing"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    r = _run(cli, tiny_suite, folder)
    assert r.code == 2
    assert f"--out {folder} is a directory" in r.err
    assert (folder / "keep.txt").read_text() == "mine"
    assert not (tmp_path / "existing.prev").exists()
    assert not list(tmp_path.glob("existing.*"))


def test_device_node_is_refused(cli: Cli, tiny_suite: Path) -> None:
    r = _run(cli, tiny_suite, "/dev/null")
    assert r.code == 2
    assert "--out /dev/null is a character device" in r.err
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    assert not os.path.exists("/dev/null.prev")
    assert not os.path.exists("/dev/null.1.prev")


def test_fifo_is_refused(cli: Cli, tiny_suite: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    r = _run(cli, tiny_suite, fifo)
    assert r.code == 2 and "is a fifo" in r.err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_symlink_is_refused_even_to_a_result_file(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    link = tmp_path / "null.json"
    link.symlink_to("/dev/null")
    r = _run(cli, tiny_suite, link)
    assert r.code == 2 and "is a symbolic link (to /dev/null)" in r.err
    assert link.is_symlink()
    real = tmp_path / "real.json"
    real.write_text('{"schema_version": "1.0.0"}')
    link2 = tmp_path / "link2.json"
    link2.symlink_to(real)
    r = _run(cli, tiny_suite, link2)
    assert r.code == 2 and "symbolic link" in r.err
    assert link2.is_symlink() and real.read_text() == '{"schema_version": "1.0.0"}'


def test_the_suite_file_is_refused(cli: Cli, tiny_suite: Path, tmp_path: Path) -> None:
    before = tiny_suite.read_text()
    r = _run(cli, tiny_suite, tiny_suite)
    assert r.code == 2 and "is an input of this run" in r.err
    assert tiny_suite.read_text() == before
    hard = tmp_path / "alias.yaml"
    os.link(tiny_suite, hard)  # the same file under another name
    r = _run(cli, tiny_suite, hard)
    assert r.code == 2 and "is an input of this run" in r.err
    assert tiny_suite.read_text() == before


def test_unwritable_location_is_refused_before_running(cli: Cli, tiny_suite: Path) -> None:
    r = _run(cli, tiny_suite, "/proc/self/r.json")
    assert r.code == 2
    assert "--out /proc/self/r.json: cannot write in /proc/self" in r.err
    assert "ok" not in r.out  # no table: nothing ran
    r = _run(cli, tiny_suite, "/proc/attnbench-nowhere/r.json")
    assert r.code == 2 and "cannot create the folder /proc/attnbench-nowhere" in r.err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_folder_without_permission_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(InputError, match="cannot write in"):
            check_out_path(folder / "r.json")
    finally:
        folder.chmod(0o700)


def test_existing_result_files_become_numbered_generations(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    assert _run(cli, tiny_suite, out).code == 0
    first = out.read_text()
    r = _run(cli, tiny_suite, out)
    assert r.code == 0 and f"kept it as {tmp_path / 'r.json.1.prev'}" in r.err
    second = out.read_text()
    assert _run(cli, tiny_suite, out).code == 0
    assert (tmp_path / "r.json.1.prev").read_text() == first
    assert (tmp_path / "r.json.2.prev").read_text() == second
    assert not lock_path(out).exists()  # the lock is removed at exit


def test_keep_previous_never_overwrites_a_generation(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    (tmp_path / "r.json.1.prev").write_text("oldest")
    out.write_text('{"schema_version": "1.0.0"}')
    assert keep_previous(out) == tmp_path / "r.json.2.prev"
    assert (tmp_path / "r.json.1.prev").read_text() == "oldest"
    assert not out.exists()
    assert keep_previous(out) is None


def test_resume_without_out_is_refused(cli: Cli, tiny_suite: Path) -> None:
    r = cli("run", str(tiny_suite), "--resume", *ONE)
    assert r.code == 2 and "--resume needs --out" in r.err


def test_resume_of_a_missing_file_says_it_starts_fresh(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "new.json"
    r = _run(cli, tiny_suite, out, "--resume")
    assert r.code == 0 and "does not exist yet; starting a new run" in r.err
    assert is_result_file(out)


def test_an_out_held_by_a_running_run_is_refused(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    with out_lock(out):
        r = _run(cli, tiny_suite, out)
    assert r.code == 2
    assert f"process {os.getpid()} holds" in r.err and "running attnbench run" in r.err
    assert not out.exists()


def test_a_stale_lock_of_a_dead_process_is_no_obstacle(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    lock_path(out).write_text("999999999\n")  # left behind by a killed run; nobody holds it
    assert _run(cli, tiny_suite, out).code == 0
    assert is_result_file(out)
    assert not lock_path(out).exists()


def test_default_names_are_claimed_exclusively(tmp_path: Path) -> None:
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    a = claim_default_out(tmp_path / "results", "tiny", now)
    b = claim_default_out(tmp_path / "results", "tiny", now)
    assert a.name == "tiny-20260102T030405Z.json"
    assert b.name == "tiny-20260102T030405Z-2.json"
    assert a.exists() and b.exists()
    release_claim(a)
    assert not a.exists()
    b.write_text("{}")
    release_claim(b)  # holds data: kept
    assert b.exists()


def test_default_out_run_writes_a_fresh_file(
    cli: Cli, tiny_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("run", str(tiny_suite), *ONE).code == 0
    assert cli("run", str(tiny_suite), *ONE).code == 0
    files = sorted((tmp_path / "results").glob("tiny-*.json"))
    assert len(files) == 2
    assert all(json.loads(f.read_text())["schema_version"] for f in files)
    assert not list((tmp_path / "results").glob("*.lock"))


def test_is_result_file(tmp_path: Path) -> None:
    cases = {"a.json": '{"schema_version": "1.0.0"}', "b.json": '[{"schema_version": "1"}]',
             "c.json": '{"schema_version": 1}', "d.json": "not json"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    assert [is_result_file(tmp_path / n) for n in cases] == [True, False, False, False]
    assert not is_result_file(tmp_path / "missing.json")


def test_the_python_api_keeps_the_same_promise(tiny_suite: Path, tmp_path: Path) -> None:
    from attnbench.runner import run_suite
    from attnbench.suite import load_suite

    suite = load_suite(tiny_suite)
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(InputError, match="not an attnbench result file"):
        run_suite(suite, "cpu", out=notes, max_cases=1)
    assert notes.read_text() == "mine"
    with pytest.raises(InputError, match="is an input of this run"):
        run_suite(suite, "cpu", out=tiny_suite, max_cases=1)
    out = tmp_path / "r.json"
    run_suite(suite, "cpu", out=out, max_cases=1)
    first = out.read_text()
    run_suite(suite, "cpu", out=out, max_cases=1)
    assert (tmp_path / "r.json.1.prev").read_text() == first


def test_an_empty_file_is_written_without_a_generation(
    cli: Cli, tiny_suite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    out.touch()
    assert _run(cli, tiny_suite, out).code == 0
    assert is_result_file(out) and not list(tmp_path.glob("r.json.*.prev"))
