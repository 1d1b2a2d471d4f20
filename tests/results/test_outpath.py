"""``--out`` checks without the CLI: the refusals word for word, and the probe's error when
the folder cannot be written (the OS boundary replaced: tests run as root)."""

from __future__ import annotations

import datetime as dt
import errno
import os
import socket
import tempfile
from pathlib import Path

import pytest

from attnbench.errors import InputError
from attnbench.results import outpath


def test_a_file_that_is_not_a_result_is_refused_with_the_rule(tmp_path: Path) -> None:
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}')
    with pytest.raises(InputError) as err:
        outpath.check_out_path(notes)
    assert str(err.value) == (
        f"--out {notes} exists and is not an attnbench result file (JSON with a "
        "schema_version); attnbench never replaces files that are not its own: choose "
        "another path or move it away yourself"
    )
    assert notes.read_text() == '{"mine": true}'


def test_an_unwritable_folder_is_named_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    out = tmp_path / "r.json"
    with pytest.raises(InputError) as err:
        outpath.probe_writable(tmp_path, out)
    assert str(err.value) == (
        f"--out {out}: cannot write in {tmp_path} (Permission denied); choose a writable location"
    )


def test_the_probe_leaves_nothing_behind(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "deeper"
    outpath.probe_writable(folder, folder / "r.json")
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_paths_that_cannot_be_resolved_are_not_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = tmp_path / "a.json"
    a.write_text("{}")
    assert outpath._same_file(a, tmp_path / "." / "a.json")

    def broken(self: Path, strict: bool = False) -> Path:
        raise OSError("too many levels of symbolic links")

    monkeypatch.setattr(Path, "resolve", broken)
    assert outpath._same_file(a, a) is False


MUST_NAME = "; --out must name a result file (a new path or an existing attnbench result file)"


def test_each_kind_of_non_file_is_refused_by_name(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(sock_path))
        for out, kind in [(tmp_path, "a directory"), (Path("/dev/null"), "a character device"),
                          (fifo, "a fifo (named pipe)"), (sock_path, "a socket")]:  # fmt: skip
            with pytest.raises(InputError) as err:
                outpath.check_out_path(out)
            assert str(err.value) == f"--out {out} is {kind}" + MUST_NAME
    finally:
        sock.close()


def test_a_symbolic_link_is_refused_with_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text('{"schema_version": "1.0.0"}')
    link = tmp_path / "link.json"
    link.symlink_to(real)
    with pytest.raises(InputError) as err:
        outpath.check_out_path(link)
    assert str(err.value) == (
        f"--out {link} is a symbolic link (to {real}); attnbench writes only to a real path: "
        "give the target's path or a new file name"
    )


def test_an_input_of_the_run_is_refused_under_any_spelling(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("version: 1\n")
    other = tmp_path / "other.yaml"
    other.write_text("version: 1\n")
    for out in (suite, tmp_path / "x" / ".." / "s.yaml"):
        with pytest.raises(InputError) as err:
            outpath.check_out_path(out, [other, suite])
        assert str(err.value) == (
            f"--out {out} is an input of this run ({suite}); choose another result path"
        )
    hard = tmp_path / "hard.json"
    os.link(suite, hard)
    with pytest.raises(InputError, match=r"is an input of this run"):
        outpath.check_out_path(hard, [suite])
    outpath.check_out_path(tmp_path / "new.json", [suite])  # a new path is fine


def test_what_counts_as_a_result_file(tmp_path: Path) -> None:
    ok = tmp_path / "ok.json"
    ok.write_text('{"schema_version": "1.0.0"}')
    number = tmp_path / "number.json"
    number.write_text('{"schema_version": 1}')
    listed = tmp_path / "list.json"
    listed.write_text('["schema_version"]')
    assert [outpath.is_result_file(p) for p in (ok, number, listed, tmp_path / "none")] == [
        True, False, False, False]  # fmt: skip
    # past the sniffed first MiB the whole file is read
    big = tmp_path / "big.json"
    big.write_text('{"schema_version": "1.0.0", "pad": "' + "x" * (1 << 20) + '"}')
    assert outpath.is_result_file(big) is True
    big.write_text('{"schema_version": "1.0.0", "pad": "' + "x" * (1 << 20))
    assert outpath.is_result_file(big) is False
    exact = tmp_path / "exact.json"
    head = '{"schema_version": "1.0.0", "pad": "'
    exact.write_text(head + "x" * ((1 << 20) - len(head) - 2) + '"}')
    assert exact.stat().st_size == 1 << 20 and outpath.is_result_file(exact) is True
    empty = tmp_path / "empty.json"
    empty.write_text("")
    outpath.check_out_path(empty)  # an empty file has nothing to lose
    outpath.check_out_path(ok)


def test_keep_previous_numbers_generations_and_skips_empty_files(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert outpath.keep_previous(out) is None  # nothing there
    out.write_text("")
    assert outpath.keep_previous(out) is None and out.exists()  # an empty claim stays
    out.write_text("first")
    assert outpath.keep_previous(out) == tmp_path / "r.json.1.prev"
    assert not out.exists()
    out.write_text("second")
    assert outpath.keep_previous(out) == tmp_path / "r.json.2.prev"
    assert (tmp_path / "r.json.1.prev").read_text() == "first"
    assert (tmp_path / "r.json.2.prev").read_text() == "second"


def test_without_hard_links_a_generation_is_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    out = tmp_path / "r.json"
    (tmp_path / "r.json.1.prev").write_text("older")
    out.write_text("newer")
    assert outpath.keep_previous(out) == tmp_path / "r.json.2.prev"
    assert (tmp_path / "r.json.2.prev").read_text() == "newer"
    assert (tmp_path / "r.json.1.prev").read_text() == "older" and not out.exists()

    def broken(src: object, dst: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "link", broken)
    out.write_text("again")
    with pytest.raises(OSError, match="Input/output error"):
        outpath.keep_previous(out)
    assert out.read_text() == "again"


def test_claim_out_keeps_a_previous_file_unless_resuming(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    out.write_text('{"schema_version": "1.0.0"}')
    assert outpath.claim_out(out, None, resume=True) is None and out.exists()
    assert outpath.claim_out(out, str(tmp_path / "missing.yaml"), resume=False) == (
        tmp_path / "r.json.1.prev")
    suite = tmp_path / "s.yaml"
    suite.write_text("x")
    with pytest.raises(InputError, match="is an input of this run"):
        outpath.claim_out(suite, str(suite), resume=True)


def test_default_names_and_their_release(tmp_path: Path) -> None:
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    folder = tmp_path / "results"
    names = [outpath.claim_default_out(folder, "s", now).name for _ in range(3)]
    assert names == ["s-20260102T030405Z.json", "s-20260102T030405Z-2.json",
                     "s-20260102T030405Z-3.json"]  # fmt: skip
    first = folder / names[0]
    umask = os.umask(0)
    os.umask(umask)
    assert first.read_bytes() == b"" and first.stat().st_mode & 0o777 == 0o644 & ~umask
    first.write_text("{}")
    outpath.release_claim(first)  # it received a result: kept
    second = folder / names[1]
    outpath.release_claim(second)
    outpath.release_claim(folder / "never.json")  # gone already: no error
    assert {p.name for p in folder.iterdir()} == {names[0], names[2]}


def test_the_lock_names_its_holder_and_is_removed(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert outpath.lock_path(out) == tmp_path / "r.json.lock"
    with outpath.out_lock(out) as lock:
        assert lock == tmp_path / "r.json.lock"
        assert lock.read_text() == f"{os.getpid()}\n"
        with pytest.raises(InputError) as err, outpath.out_lock(out):
            pass
        assert str(err.value) == (
            f"--out {out} is being written by a running attnbench run (process {os.getpid()} "
            f"holds {lock}); wait for it to finish or choose another --out"
        )
    assert not (tmp_path / "r.json.lock").exists()
