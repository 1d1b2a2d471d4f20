"""Join the parts of one suite (``--shard`` jobs of a CI matrix, torchrun ranks) into one run.

Parts must come from the same suite (equal ``suite.content_hash``), be written with the same
result schema version, and share no case. The merged run keeps the first part's provenance at
the root (so every reader works unchanged) and every part's own provenance under
``run["parts"]``: file or rank, shard, environment, device, git, timestamps and the ids of the
cases it measured — which GPU measured which case stays answerable. Merging merged files
flattens their ``parts``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attnbench.errors import InputError, ResultFileError
from attnbench.results.schema import RunResult
from attnbench.results.store import load_results

MAX_LISTED = 5
"""Overlapping case ids named in an error before ``and N more``."""


@dataclass(frozen=True)
class MergePart:
    """One input: where it came from, its run, and the schema version the file was written in."""

    source: str
    run: RunResult
    schema_version: str


def load_part(path: str | Path) -> MergePart:
    """Read a part file, remembering its schema version as written (before migration)."""
    p = Path(path)
    run = load_results(p)
    try:
        written = json.loads(p.read_text(encoding="utf-8")).get("schema_version", "")
    except (OSError, json.JSONDecodeError, AttributeError) as exc:
        raise ResultFileError(f"{p}: cannot read result file ({exc})") from None
    return MergePart(str(p), run, str(written))


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def part_record(part: MergePart) -> list[dict[str, Any]]:
    """The ``run["parts"]`` entries a part contributes (its own, or those it already merged)."""
    run = part.run
    inner = run.run.get("parts")
    if isinstance(inner, list) and inner:
        return [dict(p) for p in inner]
    return [
        {
            "source": part.source,
            "rank": run.run.get("rank"),
            "shard": run.run.get("shard"),
            "created_utc": run.created_utc,
            "completed": bool(run.run.get("completed")),
            "attnbench_version": run.attnbench_version,
            "environment": run.environment,
            "device": run.settings.get("device"),
            "git": run.git,
            "case_ids": [c.case_id for c in run.cases],
        }
    ]


def check_compatible(parts: Sequence[MergePart]) -> None:
    """Refuse parts that cannot form one run.

    Raises:
        InputError: no parts; mixed schema versions; different suites; overlapping cases —
            each message names the files involved.
    """
    if not parts:
        raise InputError("merge: no part files given")
    first = parts[0]
    for part in parts[1:]:
        if part.schema_version != first.schema_version:
            raise InputError(
                f"merge: mixed result schema versions: {first.source} has "
                f"{first.schema_version}, {part.source} has {part.schema_version}; "
                "rerun the older part or merge parts of one attnbench version"
            )
        mine = first.run.suite.get("content_hash")
        theirs = part.run.suite.get("content_hash")
        if theirs != mine:
            raise InputError(
                f"merge: {part.source} is from a different suite than {first.source} "
                f"(content hash {str(theirs)[:12]} vs {str(mine)[:12]}); only parts of one "
                "suite (same file, same --set overrides) can be merged"
            )
    owner: dict[str, str] = {}
    clashes: list[str] = []
    for part in parts:
        for case in part.run.cases:
            if case.case_id in owner:
                clashes.append(f"{case.case_id} ({owner[case.case_id]} and {part.source})")
            else:
                owner[case.case_id] = part.source
    if clashes:
        shown = "; ".join(clashes[:MAX_LISTED])
        more = f"; and {len(clashes) - MAX_LISTED} more" if len(clashes) > MAX_LISTED else ""
        raise InputError(
            f"merge: {len(clashes)} case(s) appear in more than one part: {shown}{more}"
        )


def merge_runs(parts: Sequence[MergePart]) -> RunResult:
    """One run holding every case of ``parts`` (checked with :func:`check_compatible`)."""
    check_compatible(parts)
    first = parts[0].run
    records = [rec for part in parts for rec in part_record(part)]
    merged = RunResult(
        suite={
            **first.suite,
            "case_count": sum(int(p.run.suite.get("case_count", len(p.run.cases)))
                              for p in parts),
        },
        environment=first.environment,
        settings=first.settings,
        git=first.git,
        metric_catalog=first.metric_catalog,
        schema_version=first.schema_version,
        attnbench_version=first.attnbench_version,
        created_utc=min(p.run.created_utc for p in parts),
        run={
            "argv": first.run.get("argv", []),
            "completed": all(bool(p.run.run.get("completed")) for p in parts),
            "shard": None,
            "merged_utc": _utc_now(),
            "parts": records,
        },
    )
    lost = [cid for p in parts for cid in p.run.run.get("lost_cases", [])]
    if lost:
        merged.run["lost_cases"] = lost
    warnings = [w for p in parts for w in p.run.run.get("warnings", [])]
    if warnings:
        merged.run["warnings"] = list(dict.fromkeys(warnings))
    merged.cases = [c for p in parts for c in p.run.cases]
    return merged
