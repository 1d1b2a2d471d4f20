"""``attnbench validate``: load and expand a suite; no device needed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from attnbench.cli._common import out_console
from attnbench.suite.expand import expand
from attnbench.suite.loader import MAX_TOTAL_CASES, load_suite


def validate_command(
    suite: Path = typer.Argument(
        ..., metavar="SUITE", help="Suite YAML file.", show_default=False
    ),
    set_: list[str] = typer.Option(
        [],
        "--set",
        metavar="KEY=VALUE",
        help="Override a suite key; KEY is dotted, VALUE is YAML (as in run); repeatable.",
    ),
    plugin: list[str] = typer.Option(
        [],
        "--plugin",
        metavar="MODULE",
        help="Import MODULE first (it registers variants); repeatable.",
    ),
    max_total_cases: int = typer.Option(
        MAX_TOTAL_CASES,
        "--max-total-cases",
        metavar="N",
        min=1,
        help="Refuse a suite that expands to more than N cases (counted before building any).",
    ),
) -> None:
    """Check a suite without running it: print the case count per variant."""
    if plugin:
        from attnbench.variants import load_module  # the registry imports torch

        for module in plugin:
            load_module(module)
    loaded = load_suite(suite, set_, max_total_cases=max_total_cases)
    cases = expand(loaded)
    per_variant = Counter(c.variant for c in cases)
    console = out_console()
    console.print(f"{suite}: valid, {len(cases)} cases", highlight=False, markup=False)
    for name, count in per_variant.items():
        console.print(f"  {name:<28} {count:>6}", highlight=False, markup=False)
