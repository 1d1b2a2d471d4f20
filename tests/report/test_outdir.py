"""The report directory: only attnbench's own names are written, nothing else is touched."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from attnbench.errors import InputError
from attnbench.report import outdir
from attnbench.report.bundle import build_bundle
from attnbench.report.writer import write_report
from tests.report.test_bundle import STAMP, two_runs


def _write(directory: Path) -> tuple[str, ...]:
    return write_report(build_bundle(two_runs(), created_utc=STAMP), directory).files


def test_new_directory_is_created_with_parents_and_filled(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "report"
    files = _write(target)
    assert sorted(os.listdir(target)) == sorted(files)
    assert set(files) <= outdir.OWN_NAMES
    doc = json.loads((target / "report.json").read_text())
    assert doc["generator"] == "attnbench report" and doc["files"] == list(files)
    mode = stat.S_IMODE((target / "index.html").stat().st_mode)
    assert mode == 0o666 & ~_umask()  # readable like any file the user writes, not 0600


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_file_path_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    target.write_text("precious")
    with pytest.raises(InputError, match="exists and is not a directory"):
        outdir.prepare(target)
    assert target.read_text() == "precious"


def test_a_foreign_directory_keeps_its_files_and_other_names_are_fine(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    _write(tmp_path)  # no clash: an ordinary directory with other files is fine
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_directory_with_a_clashing_name_not_ours_is_refused(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>my site</p>")
    with pytest.raises(InputError, match=r"already holds index\.html not written by attnbench"):
        _write(tmp_path)
    assert (tmp_path / "index.html").read_text() == "<p>my site</p>"
    assert sorted(os.listdir(tmp_path)) == ["index.html"]


def test_a_report_json_from_someone_else_does_not_make_the_directory_ours(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text('{"generator": "other tool"}')
    with pytest.raises(InputError, match="not written by attnbench"):
        outdir.prepare(tmp_path)
    (tmp_path / "report.json").write_text("not json")
    with pytest.raises(InputError, match="not written by attnbench"):
        outdir.prepare(tmp_path)


def test_symlinked_or_non_file_names_are_refused(tmp_path: Path) -> None:
    _write(tmp_path)
    victim = tmp_path.parent / f"{tmp_path.name}-victim.txt"
    victim.write_text("keep")
    (tmp_path / "time.png").unlink()
    (tmp_path / "time.png").symlink_to(victim)
    with pytest.raises(InputError, match=r"time\.png is not a regular file"):
        _write(tmp_path)
    assert victim.read_text() == "keep"
    (tmp_path / "time.png").unlink()
    (tmp_path / "time.png").mkdir()
    with pytest.raises(InputError, match="not a regular file"):
        outdir.prepare(tmp_path)


def test_rewriting_our_own_report_replaces_it_and_drops_stale_figures(tmp_path: Path) -> None:
    _write(tmp_path)
    doc = json.loads((tmp_path / "report.json").read_text())
    doc["files"].append("ratio.png")
    (tmp_path / "report.json").write_text(json.dumps(doc))
    (tmp_path / "ratio.png").write_bytes(b"stale")
    (tmp_path / "keep.png").write_bytes(b"not listed")
    written = write_report(build_bundle(two_runs(), created_utc=STAMP), tmp_path)
    assert written.removed == ("ratio.png",)
    assert not (tmp_path / "ratio.png").exists()
    assert (tmp_path / "keep.png").read_bytes() == b"not listed"


def test_remove_stale_touches_only_own_names(tmp_path: Path) -> None:
    (tmp_path / "other.txt").write_text("x")
    (tmp_path / "energy.png").write_bytes(b"x")
    removed = outdir.remove_stale(tmp_path, ["other.txt", "energy.png"], ["time.png"])
    assert removed == ["energy.png"] and (tmp_path / "other.txt").exists()


def test_a_dangling_symlink_as_directory_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "out"
    link.symlink_to(tmp_path / "missing")
    with pytest.raises(InputError, match="symlink to nothing"):
        outdir.prepare(link)
