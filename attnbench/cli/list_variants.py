"""``attnbench list``: every registered variant, what it needs, and its parameters."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from attnbench import variants
from attnbench.cli._common import err_console, out_console
from attnbench.variants.base import ParamSpec


def allowed_values(p: ParamSpec) -> str:
    """What values ``p`` accepts, in words: ``int >= 1``, ``one of auto, qk, v``."""
    if p.choices is not None:
        return "one of " + ", ".join(str(c) for c in p.choices)
    kind = "number" if p.type is float else p.type.__name__
    bounds = []
    if p.minimum is not None:
        bounds.append(f">= {p.minimum:g}")
    if p.maximum is not None:
        bounds.append(f"<= {p.maximum:g}")
    return " ".join([kind, " and ".join(bounds)]).strip()


def _spec_dict(p: ParamSpec) -> dict[str, Any]:
    return {
        "default": p.default,
        "type": p.type.__name__,
        "description": p.description,
        "minimum": p.minimum,
        "maximum": p.maximum,
        "choices": list(p.choices) if p.choices is not None else None,
        "allowed": allowed_values(p),
    }


def _rows() -> list[dict[str, Any]]:
    defaults = set(variants.families().values())
    rows: list[dict[str, Any]] = []
    for name in variants.names():
        info = variants.get(name).info
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
                "shapes": {
                    "gqa": info.gqa,
                    "cross": info.cross,
                    "window": info.window,
                    "alignment": info.alignment,
                },
                "params": {p.name: p.default for p in info.params},
                "param_specs": {p.name: _spec_dict(p) for p in info.params},
            }
        )
    return rows


def _variant_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="attnbench variants (* = family default)", show_lines=False)
    for col in ("variant", "time", "memory", "extra inputs", "causal", "bwd", "params", "summary"):
        table.add_column(col, no_wrap=col in ("variant",))
    for r in rows:
        cells = (
            r["name"] + (" *" if r["default"] else ""),
            r["time"],
            r["memory"],
            ", ".join(r["extra_inputs"]) or "-",
            "yes" if r["causal"] else "no",
            "yes" if r["backward"] else "no",
            ", ".join(f"{k}={v}" for k, v in r["params"].items()) or "-",
            r["summary"],
        )
        table.add_row(*(Text(str(c)) for c in cells))  # plugin text is never rich markup
    return table


def _param_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="variant parameters (set them under params: in a suite)")
    for col in ("variant", "parameter", "default", "allowed", "description"):
        table.add_column(col, no_wrap=col in ("variant", "parameter", "default"))
    for r in rows:
        for pname, spec in r["param_specs"].items():
            cells = (r["name"], pname, spec["default"], spec["allowed"], spec["description"])
            table.add_row(*(Text(str(c)) for c in cells))
    return table


def list_command(
    json_output: bool = typer.Option(False, "--json", help="Machine-readable output."),
    plugin: list[str] = typer.Option(
        [],
        "--plugin",
        metavar="MODULE",
        help="Import MODULE first (it registers variants); repeatable.",
    ),
) -> None:
    """List variants: family, implementation, complexity, inputs, causal/backward support,
    and each parameter's default, allowed values and meaning."""
    for module in plugin:
        variants.load_module(module)
    rows = _rows()
    console = out_console()
    if json_output:
        console.print_json(json.dumps(rows))
        return
    console.print(_variant_table(rows))
    if any(r["param_specs"] for r in rows):
        console.print(_param_table(rows))
    for problem in variants.plugin_errors():
        err_console().print(f"warning: {problem}", style="yellow", highlight=False, markup=False)
