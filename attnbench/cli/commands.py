"""The command table: (name, function) pairs in the order ``--help`` lists them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attnbench.cli.check import check_command
from attnbench.cli.compare import compare_command
from attnbench.cli.env import env_command
from attnbench.cli.gate import gate_command
from attnbench.cli.list_variants import list_command
from attnbench.cli.report import report_command
from attnbench.cli.run import run_command
from attnbench.cli.show import show_command
from attnbench.cli.validate import validate_command

COMMANDS: list[tuple[str, Callable[..., Any]]] = [
    ("run", run_command),
    ("validate", validate_command),
    ("list", list_command),
    ("show", show_command),
    ("compare", compare_command),
    ("gate", gate_command),
    ("report", report_command),
    ("check", check_command),
    ("env", env_command),
]
