"""The command table, loaded lazily: a command's module is imported only when it runs.

The modules behind ``run``, ``check`` and ``list`` import torch (seconds on a cold start);
``validate``, ``gate``, ``compare``, ``merge`` and ``show`` do not, so they answer at once,
which is what CI jobs and hostile-input refusals need. ``attnbench --help`` still lists every
command with its summary (it imports them all).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperGroup

COMMANDS: tuple[tuple[str, str], ...] = (
    ("run", "attnbench.cli.run:run_command"),
    ("validate", "attnbench.cli.validate:validate_command"),
    ("list", "attnbench.cli.list_variants:list_command"),
    ("show", "attnbench.cli.show:show_command"),
    ("compare", "attnbench.cli.compare:compare_command"),
    ("gate", "attnbench.cli.gate:gate_command"),
    ("report", "attnbench.cli.report:report_command"),
    ("check", "attnbench.cli.check:check_command"),
    ("env", "attnbench.cli.env:env_command"),
    ("merge", "attnbench.cli.merge:merge_command"),
)
"""(name, ``module:function``) in the order ``--help`` lists them."""


def load(target: str) -> Callable[..., Any]:
    """The command function named by ``module:function`` (imports its module)."""
    module, _, function = target.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), function)
    return fn


class LazyGroup(TyperGroup):
    """The root group: builds a command from :data:`COMMANDS` the first time it is asked for.

    Contexts and commands are typed ``Any``: typer 0.29 vendors click (``typer._click``) while
    earlier versions use click itself, and both are supported.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        return [name for name, _ in COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            target = dict(COMMANDS).get(cmd_name)
            if target is None:
                return None
            self.commands[cmd_name] = _build(cmd_name, load(target))
        return self.commands[cmd_name]

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in dict(COMMANDS):
            # A typo: typer's did-you-mean looks among the built commands, so build them all.
            for name in self.list_commands(ctx):
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


def _build(name: str, fn: Callable[..., Any]) -> Any:
    # A one-command Typer app turns into that command itself, built by Typer's public API.
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                         rich_markup_mode=None)  # fmt: skip
    single.command(name)(fn)
    return typer.main.get_command(single)
