"""Where a run may write its result file, and how it claims the place (design §3.1).

The rule (README "Where results go"): before anything runs, ``--out`` must be

* a path that does not exist yet, an empty regular file (nothing to lose), or an existing
  **attnbench result file** (JSON with a ``schema_version``), never a directory, a device
  node, a fifo, a socket or a symbolic link, never the suite file or another input of the run;
* in a directory this process can create files in (checked by creating and removing a probe).

An existing result file is never overwritten: it is moved to the first free numbered
generation ``<out>.1.prev``, ``<out>.2.prev``, ... (the highest number is the most recent),
with an exclusive hard link so that two runs can never pick the same generation. Anything
else at ``--out`` is refused with exit 2 and left exactly as it was.

A running run holds ``<out>.lock`` (``fcntl.flock``, the holder's pid inside); a second run
aimed at the same ``--out`` is refused with the pid of the first. The kernel releases the
lock when its holder dies, so a lock file left behind by a killed run is no obstacle.
Default names (``results/<suite>-<UTC time>.json``) are claimed with ``O_EXCL``; when two runs
start in the same second the later one gets ``-2``, ``-3``, ... appended.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from attnbench.errors import InputError

PREV_SUFFIX = ".prev"
LOCK_SUFFIX = ".lock"
_SNIFF_BYTES = 1 << 20
"""A result file's ``schema_version`` is among its first keys; reading 1 MiB is plenty."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a fifo (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def is_result_file(path: Path) -> bool:
    """True when ``path`` holds JSON whose top level is an object with ``schema_version``."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES + 1)
    except OSError:
        return False
    if len(head) > _SNIFF_BYTES:
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return False
    else:
        try:
            data = json.loads(head)
        except ValueError:
            return False
    return isinstance(data, dict) and isinstance(data.get("schema_version"), str)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_out_path(out: Path, inputs: Iterable[Path] = ()) -> None:
    """Refuse an ``--out`` that attnbench must not write (exit 2); see the module rule.

    Args:
        out: the result file the run will write.
        inputs: files the run reads (the suite file, plugin module files).

    Raises:
        InputError: ``out`` is an input, a directory, a symbolic link, not a regular file, an
            existing file that is not an attnbench result file, or its directory is not
            writable.
    """
    for source in inputs:
        if _same_file(out, source):
            raise InputError(
                f"--out {out} is an input of this run ({source}); choose another result path"
            )
    try:
        info = os.lstat(out)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InputError(f"--out {out}: cannot inspect it ({exc.strerror})") from None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            target = os.path.realpath(out)
            raise InputError(
                f"--out {out} is a symbolic link (to {target}); attnbench writes only to a "
                "real path: give the target's path or a new file name"
            )
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                f"--out {out} is {_kind(info.st_mode)}; --out must name a result file "
                "(a new path or an existing attnbench result file)"
            )
        if info.st_size and not is_result_file(out):
            raise InputError(
                f"--out {out} exists and is not an attnbench result file (JSON with a "
                "schema_version); attnbench never replaces files that are not its own: "
                "choose another path or move it away yourself"
            )
    probe_writable(out.parent, out)


def claim_out(out: Path, suite_path: str | None, resume: bool) -> Path | None:
    """Library-level guard of ``run_suite(out=...)``: check ``out``, keep a previous file.

    The CLI has already done both (and holds the lock); for API callers this makes the same
    promise: nothing that is not a result file is replaced, and an existing result file is
    kept as its next generation unless the run resumes it. Returns the generation's path.
    """
    inputs = [Path(suite_path)] if suite_path and Path(suite_path).is_file() else []
    check_out_path(out, inputs)
    return None if resume else keep_previous(out)


def probe_writable(folder: Path, out: Path) -> None:
    """Create the folder if needed, then create and remove a probe file in it.

    Raises:
        InputError: naming ``out`` and the OS's reason (read-only file system, permission).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"--out {out}: cannot create the folder {folder} ({exc.strerror or exc})"
        ) from None
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise InputError(
            f"--out {out}: cannot write in {folder} ({exc.strerror or exc}); "
            "choose a writable location"
        ) from None
    os.close(fd)
    os.unlink(probe)


def keep_previous(out: Path) -> Path | None:
    """Move an existing result file ``out`` to its next free generation; return where.

    Generation ``<out>.N.prev`` is taken with an exclusive hard link (``os.link`` fails when
    the name exists), so no earlier generation is ever overwritten, then ``out`` is unlinked.
    Call only after :func:`check_out_path` accepted ``out``.
    """
    if not out.exists() or out.stat().st_size == 0:
        return None  # nothing there, or an empty file (a claimed default name): nothing to keep
    n = 1
    while True:
        prev = out.with_name(f"{out.name}.{n}{PREV_SUFFIX}")
        try:
            os.link(out, prev)
        except FileExistsError:
            n += 1
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            if prev.exists() or prev.is_symlink():  # no hard links here: check, then rename
                n += 1
                continue
            os.rename(out, prev)
            return prev
        os.unlink(out)
        return prev


def claim_default_out(folder: Path, suite_name: str, now: dt.datetime | None = None) -> Path:
    """Create ``folder/<suite>-<UTC stamp>[-K].json`` exclusively (``O_EXCL``) and return it.

    The file is created empty; the run replaces it with the result file at its first save.
    """
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    probe_writable(folder, folder / f"{suite_name}-{stamp}.json")
    k = 1
    while True:
        suffix = "" if k == 1 else f"-{k}"
        path = folder / f"{suite_name}-{stamp}{suffix}.json"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            k += 1
            continue
        os.close(fd)
        return path


def release_claim(path: Path) -> None:
    """Remove a default-name claim that never received a result (still empty)."""
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            path.unlink()


def lock_path(out: Path) -> Path:
    return out.with_name(out.name + LOCK_SUFFIX)


@contextlib.contextmanager
def out_lock(out: Path) -> Iterator[Path]:
    """Hold ``<out>.lock`` for the duration of the block; removed on exit.

    Raises:
        InputError: another live process holds the lock (its pid is named).
    """
    path = lock_path(out)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                who = f"process {holder}" if holder else "another process"
                raise InputError(
                    f"--out {out} is being written by a running attnbench run ({who} holds "
                    f"{path}); wait for it to finish or choose another --out"
                ) from None
            raise
        # the holder before us may have unlinked the file we opened: lock the live one
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None
