"""``attnbench gate BASELINE CURRENT``: the CI gate, with a fixed exit-code contract.

Data (the verdict) goes to stdout; the Markdown summary is also appended to
``$GITHUB_STEP_SUMMARY`` when that variable is set.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path

import typer

from attnbench.cli._common import err_console, out_console
from attnbench.compare.gate import GateResult, gate_runs
from attnbench.compare.inputs import read_run
from attnbench.compare.policy import Policy, check_metric, load_policy, parse_fraction
from attnbench.errors import InputError
from attnbench.report.gate_console import render_gate
from attnbench.report.gate_text import gate_csv, gate_markdown


class GateFormat(str, Enum):
    """Output formats of ``attnbench gate``."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def _threshold(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_fraction(text)
    except ValueError as exc:
        raise InputError(f"--max-regression: {exc}") from None


def _append_step_summary(result: GateResult, hint: str) -> None:
    target = os.environ.get(STEP_SUMMARY_ENV)
    if not target:
        return
    try:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(gate_markdown(result, hint) + "\n")
    except OSError as exc:
        err_console().print(
            f"warning: could not append to ${STEP_SUMMARY_ENV} ({target}): {exc.strerror}",
            style="yellow",
            markup=False,
        )


def _emit(result: GateResult, output_format: GateFormat, hint: str) -> None:
    import json

    if output_format is GateFormat.table:
        render_gate(result, out_console())
        return
    if output_format is GateFormat.markdown:
        text = gate_markdown(result, hint)
    elif output_format is GateFormat.csv:
        text = gate_csv(result)
    else:
        text = json.dumps(result.to_dict(), indent=1, allow_nan=False) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()


def gate_command(
    baseline: Path = typer.Argument(
        ...,
        metavar="BASELINE",
        show_default=False,
        help="Result file of the reference run (e.g. the base commit).",
    ),
    current: Path = typer.Argument(
        ...,
        metavar="CURRENT",
        show_default=False,
        help="Result file to judge (e.g. the pull request's head).",
    ),
    max_regression: str | None = typer.Option(
        None,
        "--max-regression",
        metavar="PCT",
        help="Largest tolerated slowdown: '5%' or 0.05 [default: 5%, or the policy's].",
    ),
    metric: str | None = typer.Option(
        None,
        "--metric",
        metavar="KEY",
        help="Catalog metric to judge, direction-aware: time/median_ms (default), "
        "throughput/tflops, memory/peak_bytes, energy/joules_per_call, ...",
    ),
    floor_ms: float | None = typer.Option(
        None,
        "--floor-ms",
        min=0.0,
        metavar="MS",
        help="Absolute floor: a time change at or below it is never a regression "
        "[default: 0.001 ms, about twice the CUDA event resolution].",
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Also exit 1 on ambiguous or missing cases."
    ),
    allow_different_device: bool = typer.Option(
        False,
        "--allow-different-device",
        help="Gate runs from different device models instead of exiting 3.",
    ),
    label: list[str] = typer.Option(
        [], "--label", metavar="TEXT", help="Names for BASELINE then CURRENT in the output."
    ),
    policy_path: Path | None = typer.Option(
        None,
        "--policy",
        metavar="gate.yaml",
        help="Policy file: per-variant or per-case-pattern thresholds, metrics and ignores.",
    ),
    output_format: GateFormat = typer.Option(
        GateFormat.table,
        "--format",
        "-f",
        case_sensitive=False,
        help="table (terminal), markdown (PR comment), csv, or json (machine-readable).",
    ),
) -> None:
    """Gate CURRENT against BASELINE: per case slower / faster / same / ambiguous /
    incomparable / new / missing / failed.

    A case is slower only if its ratio exceeds --max-regression, it is significant both on
    the raw samples (Mann–Whitney) and against the pair's run-to-run noise (canary wander
    and case spread, printed), after Holm's correction across all tested cases, and the
    change exceeds --floor-ms. Machine drift, measured by each run's canary, is divided out.

    Exit codes: 0 no confirmed regression; 1 a confirmed regression or a failed case
    (--strict: also ambiguous or missing); 2 bad input (unreadable, truncated or newer
    result file, bad option or policy); 3 the runs cannot be compared (no common case, every
    case incomparable, or a different device model without --allow-different-device).
    """
    threshold = _threshold(max_regression)
    if metric is not None:
        metric = check_metric(metric)
    if len(label) > 2:
        raise InputError("--label: give at most two (BASELINE, then CURRENT)")
    policy = load_policy(policy_path) if policy_path is not None else Policy()
    base_run, cur_run = read_run(baseline), read_run(current)
    names = [str(baseline), str(current)]
    names[: len(label)] = label
    result = gate_runs(
        base_run,
        cur_run,
        defaults=policy.defaults(metric, threshold, floor_ms),
        policy=policy,
        strict=strict,
        allow_different_device=allow_different_device,
        names=(names[0], names[1]),
    )
    hint = f"attnbench gate {baseline} {current} --format json"
    _emit(result, output_format, hint)
    _append_step_summary(result, hint)
    raise typer.Exit(result.exit_code)
