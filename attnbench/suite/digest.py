"""The suite's identity for ``--resume``: a hash of what the YAML says, not how it is written.

:func:`document` turns the parsed tree (after ``--set`` overrides) into plain JSON values, so
comments, blank lines, key order, quoting and flow versus block style change nothing;
:func:`digest` hashes it; :func:`changes` says which keys differ between two documents, so a
refused ``--resume`` can say what changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from attnbench.suite.yamlpos import YNode

_WORDS = {"on", "off", "yes", "no", "y", "n"}


def document(node: YNode | None) -> Any:
    """Plain JSON values of a parsed YAML tree.

    YAML 1.1 words that read as booleans (``off``, ``on``, ``yes``) stay words, as the suite
    loader reads them (``enabled: off`` and ``enabled: false`` are different spellings).
    """
    if node is None:
        return None
    if node.is_mapping:
        return {key: document(child) for key, child in node.value.items()}
    if node.is_list:
        return [document(child) for child in node.value]
    if isinstance(node.value, bool) and node.raw is not None and node.raw.lower() in _WORDS:
        return node.raw
    if isinstance(node.value, (str, int, float, bool)) or node.value is None:
        return node.value
    return str(node.value)  # dates and other YAML scalars


def digest(doc: Any) -> str:
    """sha256 hex of ``doc`` as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def changes(old: Any, new: Any, path: str = "", limit: int = 8) -> list[str]:
    """``key.path: OLD -> NEW`` for each difference (at most ``limit``), dotted like ``--set``.

    ``(absent)`` marks a key that only one side has.
    """
    out: list[str] = []
    _diff(old, new, path, out)
    if len(out) > limit:
        out = [*out[:limit], f"... and {len(out) - limit} more"]
    return out


_ABSENT = object()


def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value, default=str)


def _diff(old: Any, new: Any, path: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(dict.fromkeys([*old, *new])):
            where = f"{path}.{key}" if path else str(key)
            _diff(old.get(key, _ABSENT), new.get(key, _ABSENT), where, out)
        return
    if old != new:
        out.append(f"{path or '(the whole suite)'}: {_show(old)} -> {_show(new)}")
