"""Fixtures for runner tests: forget the crashy test plugin after each test."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from attnbench.variants.registry import _classes, _defaults
from tests.cli.conftest import cli as cli  # the in-process CLI fixture, shared

CRASHY = "tests.runner.crashy_plugin"


@pytest.fixture(autouse=True)
def forget_crashy() -> Iterator[None]:
    """Unregister ``crashy.*`` so no later test (e.g. ``check`` of every variant) calls one."""
    yield
    for name in [n for n in _classes if n.startswith("crashy.")]:
        del _classes[name]
    _defaults.pop("crashy", None)
    sys.modules.pop(CRASHY, None)
