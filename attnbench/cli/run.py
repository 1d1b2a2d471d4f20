"""``attnbench run``: run a suite with live progress, write JSON as it goes, print a table."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import sys
from pathlib import Path

import typer
from rich.markup import escape

from attnbench.cli._common import err_console, out_console
from attnbench.cli.progress import RichProgress
from attnbench.errors import EXIT_CASES_FAILED, InputError
from attnbench.report.captions import partial_lines
from attnbench.report.console import render_run
from attnbench.runner import parse_shard, run_suite, summary_line
from attnbench.suite.expand import filter_variants
from attnbench.suite.loader import load_suite
from attnbench.variants import load_module

CHECK_MODES = ("reduced", "full", "off")


def default_out(suite_name: str) -> Path:
    """``results/<suite>-<UTC timestamp>.json``."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path("results") / f"{suite_name}-{stamp}.json"


def resume_command(argv: list[str], out: Path) -> str:
    """The user's own ``run`` arguments with ``--out`` pinned and ``--resume`` added."""
    args = list(argv)
    if not {"--out", "-o"} & set(args) and not any(a.startswith("--out=") for a in args):
        args += ["--out", str(out)]
    if "--resume" not in args:
        args.append("--resume")
    return "attnbench " + " ".join(shlex.quote(a) for a in args)


def _keep_previous(out: Path) -> None:
    """Never destroy a measured file: move an existing one aside to ``<out>.prev``."""
    if out.exists():
        prev = out.with_name(out.name + ".prev")
        os.replace(out, prev)
        err_console().print(
            f"note: {out} existed; kept it as {prev}", highlight=False, markup=False
        )


def run_command(
    suite: Path = typer.Argument(
        ..., metavar="SUITE", help="Suite YAML file.", show_default=False
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        metavar="PATH",
        help="Result JSON (default: results/<suite>-<UTC time>.json).",
    ),
    device: str | None = typer.Option(
        None,
        "--device",
        "-d",
        metavar="DEVICE",
        help="auto | cpu | cuda | cuda:N (default: the suite's).",
    ),
    variant: list[str] = typer.Option(
        [],
        "--variant",
        "-v",
        metavar="NAME",
        help="Run only this variant (family or family.impl); repeatable.",
    ),
    keyword: list[str] = typer.Option(
        [],
        "-k",
        "--keyword",
        metavar="PATTERN",
        help="Run only cases whose id matches PATTERN: a substring, a glob over the whole id "
        "(softmax.*/*-causal-*), or terms joined by and/or/not, as in pytest -k; repeatable "
        "(any matches). Applied before --shard and --max-cases.",
    ),
    set_: list[str] = typer.Option(
        [],
        "--set",
        metavar="KEY=VALUE",
        help="Override a suite key; KEY is dotted, VALUE is YAML, e.g. "
        "--set axes.seq_len=[128,256] or --set timing.max_time_s=2; repeatable.",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue --out: keep its finished cases, run the rest."
    ),
    shard: str | None = typer.Option(
        None, "--shard", metavar="K/N", help="Run shard K of N, e.g. 2/4."
    ),
    max_cases: int | None = typer.Option(
        None,
        "--max-cases",
        min=1,
        metavar="N",
        help="Run only the first N selected cases (the file is marked partial).",
    ),
    threads: int | None = typer.Option(
        None,
        "--threads",
        min=1,
        metavar="N",
        help="torch intra-op CPU threads (default: the suite's cpu.threads, else torch's); "
        "recorded in the result. On a shared CPU use 1.",
    ),
    check: str | None = typer.Option(
        None,
        "--check",
        metavar="MODE",
        help="Correctness check: reduced | full | off (default: the suite's).",
    ),
    plugin: list[str] = typer.Option(
        [],
        "--plugin",
        metavar="MODULE",
        help="Import MODULE first (it registers variants); repeatable.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or per-case lines."),
) -> None:
    """Run a suite: time, memory, energy and error of every case, saved after each case."""
    if check is not None and check not in CHECK_MODES:
        raise InputError(f"--check must be one of {', '.join(CHECK_MODES)}, got {check!r}")
    for module in plugin:
        load_module(module)
    loaded = load_suite(suite, set_)
    filter_variants(loaded, variant)  # an unknown --variant is an error before anything runs
    out_path = out or default_out(loaded.name)
    console = err_console()
    if resume and not out_path.exists():
        console.print(
            f"note: --resume: {escape(str(out_path))} does not exist yet; starting a fresh run",
            highlight=False,
        )
    if not resume:
        _keep_previous(out_path)
    try:
        with RichProgress(console, quiet=quiet) as progress:
            run = run_suite(
                loaded,
                device,
                out=out_path,
                resume=resume,
                shard=parse_shard(shard) if shard else None,
                max_cases=max_cases,
                check=check,
                progress=progress,
                keyword=keyword,
                threads=threads,
                variant=variant,
            )
    except KeyboardInterrupt:
        console.print(
            f"interrupted: finished cases are saved in {out_path}; continue with\n"
            f"  {resume_command(sys.argv[1:], out_path)}",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(130) from None
    render_run(run, out_console())
    console.print(f"{summary_line(run)} → {out_path}", highlight=False, markup=False)
    for line in partial_lines(run, str(out_path)):
        console.print(line, highlight=False, markup=False, style="yellow")
    if run.counts().get("failed", 0):
        raise typer.Exit(EXIT_CASES_FAILED)
