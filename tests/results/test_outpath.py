"""``--out`` checks without the CLI: the refusals word for word, and the probe's error when
the folder cannot be written (the OS boundary replaced: tests run as root)."""

from __future__ import annotations

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
