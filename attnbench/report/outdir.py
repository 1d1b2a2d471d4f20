"""The report directory: attnbench writes only its own file names there, never anyone else's.

Rules (checked before anything is written):

* a path that exists and is not a directory is refused;
* a new path is created (with its parents);
* an existing directory may already hold files with the report's names only when it is an
  attnbench report directory, i.e. its ``report.json`` was written by ``attnbench report``;
  otherwise those files belong to someone else and the report is refused;
* a report name that is a symlink or not a regular file is refused (writing would go through
  it or replace it).

Files are written atomically (temporary file in the directory, then rename). Figures of an
earlier report that this one does not draw (say, ``energy.png`` when no run measured energy)
are removed, but only names that the earlier ``report.json`` lists as its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from attnbench.errors import InputError
from attnbench.results.store import atomic_write_bytes

REPORT_JSON = "report.json"
INDEX_HTML = "index.html"
OWN_NAMES: frozenset[str] = frozenset(
    {REPORT_JSON, INDEX_HTML, "time.png", "tflops.png", "memory.png", "energy.png",
     "ratio.png", "forest.png"}
)
"""Every file name ``attnbench report`` ever writes."""
GENERATOR = "attnbench report"


def previous_files(directory: Path) -> list[str] | None:
    """The files an earlier report in ``directory`` says it wrote; None when it holds no
    attnbench report (no ``report.json``, or one that another program wrote)."""
    marker = directory / REPORT_JSON
    if marker.is_symlink() or not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("generator") != GENERATOR:
        return None
    files = data.get("files")
    return [f for f in files if isinstance(f, str)] if isinstance(files, list) else []


def prepare(directory: Path) -> list[str]:
    """Check (and create) ``directory``; returns the earlier report's own files, if any.

    Raises:
        InputError: the path is not a directory, or it holds files with the report's names
            that attnbench did not write (exit 2).
    """
    if directory.is_symlink() and not directory.is_dir():
        raise InputError(f"--out {directory}: a symlink to nothing; give a directory")
    if directory.exists() and not directory.is_dir():
        raise InputError(
            f"--out {directory}: exists and is not a directory; the report is a directory of "
            f"{INDEX_HTML}, {REPORT_JSON} and PNG files, so give a new or report directory"
        )
    if not directory.exists():
        try:
            directory.mkdir(parents=True)
        except OSError as exc:
            raise InputError(f"--out {directory}: cannot create it ({exc.strerror})") from None
        return []
    earlier = previous_files(directory)
    present = sorted(
        n for n in OWN_NAMES if (directory / n).exists() or (directory / n).is_symlink()
    )
    for name in present:
        path = directory / name
        if path.is_symlink() or not path.is_file():
            raise InputError(f"--out {directory}: {name} is not a regular file; not touching it")
    if present and earlier is None:
        raise InputError(
            f"--out {directory}: already holds {', '.join(present)} not written by attnbench "
            f"report (no attnbench {REPORT_JSON}); choose a new or empty directory"
        )
    if not os.access(directory, os.W_OK):
        raise InputError(f"--out {directory}: not writable")
    return earlier or []


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (``results.store.atomic_write_bytes``)."""
    atomic_write_bytes(path, data)


def remove_stale(directory: Path, earlier: Iterable[str], written: Iterable[str]) -> list[str]:
    """Remove the earlier report's own figures that this report did not write again."""
    removed = []
    for name in sorted(set(earlier) - set(written)):
        path = directory / name
        if name in OWN_NAMES and path.is_file() and not path.is_symlink():
            path.unlink()
            removed.append(name)
    return removed
