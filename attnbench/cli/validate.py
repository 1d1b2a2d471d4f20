"""``attnbench validate``: load and expand a suite; no device needed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from attnbench.cli._common import out_console
from attnbench.suite.expand import expand
from attnbench.suite.loader import load_suite


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
) -> None:
    """Check a suite without running it: print the case count per variant."""
    loaded = load_suite(suite, set_)
    cases = expand(loaded)
    per_variant = Counter(c.variant for c in cases)
    console = out_console()
    console.print(f"{suite}: valid, {len(cases)} cases", highlight=False, markup=False)
    for name, count in per_variant.items():
        console.print(f"  {name:<28} {count:>6}", highlight=False, markup=False)
