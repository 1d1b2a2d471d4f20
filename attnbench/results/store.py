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
from attnbench.results.validate import parse_result_text, validate_result


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
    """Read a result file, migrate older schemas and validate it (``results.validate``).

    Raises:
        ResultFileError: missing, unreadable, not UTF-8 JSON, not a result file, newer than
            this attnbench, or a field of the wrong type (named by its JSON path).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ResultFileError(f"result file not found: {p}") from None
    except IsADirectoryError:
        raise ResultFileError(f"{p} is a directory, not a result file") from None
    except OSError as exc:
        raise ResultFileError(f"cannot read result file {p}: {exc.strerror}") from None
    data = parse_result_text(raw, str(p))
    if not isinstance(data, dict):
        raise ResultFileError(f"{p}: not an attnbench result file (top level is not an object)")
    data = migrate(data, str(p))
    validate_result(data, str(p))
    return RunResult.from_dict(data)
