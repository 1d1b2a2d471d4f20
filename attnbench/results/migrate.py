"""Upgrading older result files and refusing newer ones.

Each entry of ``MIGRATIONS`` upgrades a dict from one schema version to the next; ``migrate``
applies them in order. Files whose version is newer than this attnbench are refused with a
message to upgrade, never half-read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attnbench.errors import ResultFileError
from attnbench.results.schema import SCHEMA_VERSION

Migration = Callable[[dict[str, Any]], dict[str, Any]]

# from-version → (to-version, function). Version 1.0.0 is the first; nothing to migrate yet.
MIGRATIONS: dict[str, tuple[str, Migration]] = {}


def parse_version(text: str) -> tuple[int, int, int]:
    """``"1.2.3"`` → (1, 2, 3); raises ValueError for anything else."""
    parts = text.split(".")
    if len(parts) != 3:
        raise ValueError(text)
    major, minor, patch = (int(p) for p in parts)
    return major, minor, patch


def migrate(data: dict[str, Any], source: str = "<result>") -> dict[str, Any]:
    """Return ``data`` upgraded to SCHEMA_VERSION.

    Raises:
        ResultFileError: missing/malformed version, a newer file, or no migration path.
    """
    version = data.get("schema_version")
    if not isinstance(version, str):
        raise ResultFileError(f"{source}: not an attnbench result file (no 'schema_version')")
    try:
        have = parse_version(version)
    except ValueError:
        raise ResultFileError(f"{source}: malformed schema_version {version!r}") from None
    current = parse_version(SCHEMA_VERSION)
    if have > current:
        raise ResultFileError(
            f"{source}: written with result schema {version}, newer than this attnbench "
            f"understands ({SCHEMA_VERSION}). Upgrade attnbench (pip install -U attnbench)."
        )
    while version != SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ResultFileError(
                f"{source}: no migration from result schema {version} to {SCHEMA_VERSION}"
            )
        version, fn = step
        data = fn(data)
        data["schema_version"] = version
    return data
