"""``attnbench list``: every registered variant and what it needs."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from attnbench import variants
from attnbench.cli._common import err_console, out_console


def _params(v: variants.Variant) -> str:
    return ", ".join(f"{p.name}={p.default}" for p in v.info.params) or "-"


def list_command(
    json_output: bool = typer.Option(False, "--json", help="Machine-readable output."),
    plugin: list[str] = typer.Option(
        [], "--plugin", help="Import MODULE first (it registers variants); repeatable."
    ),
) -> None:
    """List variants: family, implementation, complexity, inputs, causal/backward support."""
    for module in plugin:
        variants.load_module(module)
    defaults = set(variants.families().values())
    rows: list[dict[str, Any]] = []
    for name in variants.names():
        v = variants.get(name)
        info = v.info
        rows.append(
            {
                "name": name,
                "family": info.family,
                "impl": info.impl,
                "default": name in defaults,
                "summary": info.summary,
                "time": info.time_complexity,
                "memory": info.memory_complexity,
                "extra_inputs": list(info.extra_inputs),
                "causal": info.causal,
                "backward": info.backward,
                "params": {p.name: p.default for p in info.params},
            }
        )
    console = out_console()
    if json_output:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="attnbench variants (* = family default)", show_lines=False)
    for col in ("variant", "time", "memory", "extra inputs", "causal", "bwd", "params", "summary"):
        table.add_column(col, no_wrap=col in ("variant",))
    for r in rows:
        table.add_row(
            r["name"] + (" *" if r["default"] else ""),
            r["time"],
            r["memory"],
            ", ".join(r["extra_inputs"]) or "-",
            "yes" if r["causal"] else "no",
            "yes" if r["backward"] else "no",
            ", ".join(f"{k}={v}" for k, v in r["params"].items()) or "-",
            r["summary"],
        )
    console.print(table)
    for problem in variants.plugin_errors():
        err_console().print(f"warning: {problem}", style="yellow", highlight=False)
