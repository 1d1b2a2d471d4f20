"""Fingerprints: a hash of a variant's implementation source and of the case.

Two results are comparable as a speed change only when their fingerprints match; otherwise
the code (or the case definition) changed and compare/gate call them incomparable.
"""

from __future__ import annotations

import hashlib
import inspect
import sys

from attnbench.case import Case
from attnbench.variants.base import Variant


def _source_files(cls: type) -> list[str]:
    files = []
    for klass in cls.__mro__:
        if klass.__module__ in ("builtins", "abc"):
            continue
        module = sys.modules.get(klass.__module__)
        try:
            path = inspect.getsourcefile(module) if module else None
        except TypeError:
            path = None
        if path and path not in files:
            files.append(path)
    return files


def fingerprint(variant: Variant, case: Case) -> str:
    """sha256 (first 16 hex digits) of the variant's module sources and the case id."""
    h = hashlib.sha256()
    for path in _source_files(type(variant)):
        try:
            with open(path, "rb") as fh:
                h.update(fh.read())
        except OSError:
            h.update(path.encode())
    h.update(case.case_id.encode())
    return h.hexdigest()[:16]
