"""``attnbench run``: run a suite with live progress, write JSON as it goes, print a table."""

from __future__ import annotations

import contextlib
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import typer

from attnbench.cli._common import err_console, out_console
from attnbench.cli.progress import RichProgress
from attnbench.errors import EXIT_CASES_FAILED, InputError
from attnbench.measure.profile import prepare_profile_dir, profile_dir_for
from attnbench.report.captions import partial_lines
from attnbench.report.console import ratio_table, render_run, stored_baseline
from attnbench.results.journal import recover
from attnbench.results.outpath import (
    check_out_path,
    claim_default_out,
    keep_previous,
    out_lock,
    release_claim,
)
from attnbench.runner import parse_shard, run_suite, summary_line
from attnbench.runner.distributed import detect, is_root_process
from attnbench.runner.isolate import Isolation
from attnbench.suite.expand import filter_variants
from attnbench.suite.loader import MAX_TOTAL_CASES, load_suite
from attnbench.variants import load_module

CHECK_MODES = ("reduced", "full", "off")


DEFAULT_FOLDER = Path("results")


def resume_command(argv: list[str], out: Path) -> str:
    """The user's own ``run`` arguments with ``--out`` pinned and ``--resume`` added."""
    args = list(argv)
    if not {"--out", "-o"} & set(args) and not any(a.startswith("--out=") for a in args):
        args += ["--out", str(out)]
    if "--resume" not in args:
        args.append("--resume")
    return "attnbench " + " ".join(shlex.quote(a) for a in args)


def plugin_files(modules: list[str]) -> list[Path]:
    """The source files of the imported ``--plugin`` modules (inputs ``--out`` may not name)."""
    files = []
    for name in modules:
        file = getattr(sys.modules.get(name), "__file__", None)
        if file:
            files.append(Path(file))
    return files


@contextlib.contextmanager
def claimed_out(
    out: Path | None, suite_name: str, inputs: list[Path], resume: bool
) -> Iterator[Path]:
    """Check or claim the result path, hold its lock, keep an existing file's generation.

    Everything here happens before the first case runs (see ``attnbench.results.outpath``).
    """
    if detect() is not None:  # under torchrun: rank 0 claims --out, the ranks their parts
        if out is None:
            raise InputError("under torchrun, --out PATH is required: every rank must know it")
        if not is_root_process():
            yield out
            return
    if out is None:
        if resume:
            raise InputError("--resume needs --out PATH: the result file to continue")
        path = claim_default_out(DEFAULT_FOLDER, suite_name)
        try:
            with out_lock(path):
                yield path
        finally:
            release_claim(path)
        return
    check_out_path(out, inputs)
    with out_lock(out):
        if not resume:
            recover(out)  # a killed run's journal goes into its file before that is kept
            prev = keep_previous(out)
            if prev is not None:
                err_console().print(
                    f"note: {out} existed; kept it as {prev}", highlight=False, markup=False
                )
        elif not out.exists():
            err_console().print(
                f"note: --resume: {out} does not exist yet; starting a new run",
                highlight=False,
                markup=False,
            )
        yield out


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
    isolate: bool = typer.Option(
        False,
        "--isolate",
        help="Run each case in a spawned worker process: a crash, hang or OOM costs only "
        "that case (recorded with the signal or the reason) and the run goes on.",
    ),
    case_timeout: float | None = typer.Option(
        None,
        "--case-timeout",
        metavar="SECONDS",
        min=0.001,
        help="Kill a case's worker after SECONDS without finishing (implies --isolate); "
        "the case is recorded as failed.",
    ),
    max_total_cases: int = typer.Option(
        MAX_TOTAL_CASES,
        "--max-total-cases",
        metavar="N",
        min=1,
        help="Refuse a suite that expands to more than N cases (counted before building any).",
    ),
    profile: bool = typer.Option(
        False, "--profile", help="Also record a torch.profiler trace (Chrome JSON, opens in "
        "Perfetto) and a top-operators table of every ok case, into <out stem>.profiles/.",
    ),
) -> None:
    """Run a suite: time, memory, energy and error of every case, saved after each case."""
    if check is not None and check not in CHECK_MODES:
        raise InputError(f"--check must be one of {', '.join(CHECK_MODES)}, got {check!r}")
    for module in plugin:
        load_module(module)
    loaded = load_suite(suite, set_, max_total_cases=max_total_cases)
    filter_variants(loaded, variant)  # an unknown --variant is an error before anything runs
    console = err_console()
    inputs = [suite, *plugin_files(plugin)]
    shard_kn = parse_shard(shard) if shard else None
    written: Path | None = out
    profile_dir: Path | None = None
    try:
        with claimed_out(out, loaded.name, inputs, resume) as out_path, RichProgress(
            console, quiet=quiet
        ) as progress:
            written = out_path
            profile_dir = profile_dir_for(out_path) if profile else None
            if profile_dir is not None:
                prepare_profile_dir(profile_dir, resume)
            run = run_suite(
                loaded,
                device,
                out=out_path,
                resume=resume,
                shard=shard_kn,
                max_cases=max_cases,
                check=check,
                progress=progress,
                keyword=keyword,
                threads=threads,
                variant=variant,
                isolation=Isolation(case_timeout, tuple(plugin))
                if isolate or case_timeout is not None
                else None,
                profile_dir=profile_dir,
            )
    except KeyboardInterrupt:
        where = written or Path("<the result file>")
        console.print(
            f"interrupted: finished cases are saved in {where}; continue with\n"
            f"  {resume_command(sys.argv[1:], where)}",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(130) from None
    if is_root_process():
        stdout = out_console()
        render_run(run, stdout)
        if stored_baseline(run) is not None:  # paired ratios: end with the ratio table
            stdout.print()
            stdout.print(ratio_table(run))
        console.print(f"{summary_line(run)} → {written}", highlight=False, markup=False)
    else:
        console.print(f"rank {run.run.get('rank')}: {summary_line(run)}", highlight=False)
    if profile_dir is not None:
        console.print(f"profiles: {profile_dir} (traces open in https://ui.perfetto.dev)",
                      highlight=False, markup=False)
    for line in partial_lines(run, str(written)):
        console.print(line, highlight=False, markup=False, style="yellow")
    if run.counts().get("failed", 0):
        raise typer.Exit(EXIT_CASES_FAILED)
