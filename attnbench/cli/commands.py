"""The command table: (name, function) pairs in the order ``--help`` lists them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

COMMANDS: list[tuple[str, Callable[..., Any]]] = []
