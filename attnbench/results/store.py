"""Atomic, incremental result files.

``save_results`` writes to a temporary file in the same directory, flushes and fsyncs it and
renames it over the target, so a reader (or a crash) only ever sees a complete file. The
runner saves after every case, so nothing already measured is lost.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from attnbench.errors import ResultFileError
from attnbench.results.migrate import migrate
from attnbench.results.schema import RunResult


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: store them as None (null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def dumps(run: RunResult) -> str:
    return json.dumps(_clean(run.to_dict()), indent=1, sort_keys=False, allow_nan=False) + "\n"


def save_results(run: RunResult, path: str | Path) -> Path:
    """Write ``run`` to ``path`` atomically; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(run)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def load_results(path: str | Path) -> RunResult:
    """Read a result file, migrating older schemas.

    Raises:
        ResultFileError: missing, not JSON, not a result file, or newer than this attnbench.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultFileError(f"result file not found: {p}") from None
    except OSError as exc:
        raise ResultFileError(f"cannot read result file {p}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultFileError(
            f"{p}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})"
        ) from None
    if not isinstance(data, dict):
        raise ResultFileError(f"{p}: not an attnbench result file (top level is not an object)")
    data = migrate(data, str(p))
    try:
        return RunResult.from_dict(data)
    except (KeyError, TypeError) as exc:
        raise ResultFileError(f"{p}: malformed result file ({exc})") from None
