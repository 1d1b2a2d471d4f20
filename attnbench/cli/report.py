"""``attnbench report RUN.json... --out DIR``: plots, scaling exponents and one HTML page.

The exponent table goes to stdout; warnings, notes and the list of written files go to
stderr. Bad input (a result file, ``--label``, ``--gate``, an ``--out`` that is not a report
directory) is exit 2 with a message naming the file.
"""

from __future__ import annotations

from pathlib import Path

import typer

from attnbench.cli._common import err_console, out_console
from attnbench.results.store import load_results


def report_command(
    paths: list[Path] = typer.Argument(
        ..., metavar="RUN.json...", help="Result files written by `attnbench run`.",
        show_default=False,
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", metavar="DIR",
        help="Report directory (created if missing). Only attnbench's own file names are "
        "written there; a directory holding such names that attnbench did not write is "
        "refused (exit 2).",
        show_default=False,
    ),
    label: list[str] = typer.Option(
        [], "--label", "-l", metavar="NAME",
        help="Name of each run in legends and tables, once per RUN.json in order "
        "(default: GPU name, else git sha, else file name).",
    ),
    gate: Path | None = typer.Option(
        None, "--gate", metavar="VERDICT.json",
        help="Verdict from `attnbench gate --format json`: adds a forest plot of the per-case "
        "ratio intervals with the threshold drawn.",
    ),
) -> None:
    """Plot runs against sequence length, fit scaling exponents, write DIR/index.html."""
    # matplotlib and scipy load here, not when any other command starts
    from attnbench.report.bundle import build_bundle, run_labels
    from attnbench.report.forest import load_verdict
    from attnbench.report.series import RunInput
    from attnbench.report.writer import exponent_table, write_report

    loaded = [(load_results(p), str(p)) for p in paths]
    labels = run_labels(loaded, label)
    verdict = load_verdict(gate) if gate is not None else None
    runs = [RunInput(lab, path, run) for lab, (run, path) in zip(labels, loaded, strict=True)]
    bundle = build_bundle(runs, verdict)
    written = write_report(bundle, out)
    out_console().print(exponent_table(bundle))
    err = err_console()
    for _code, message in bundle.warnings:
        err.print(f"warning {message}", style="yellow", markup=False, highlight=False)
    for note in bundle.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    for name in written.removed:
        err.print(f"removed {out / name} (an earlier report's figure not drawn this time)",
                  markup=False, highlight=False)
    err.print(f"wrote {len(written.files)} files to {out}: open {out / 'index.html'}",
              markup=False, highlight=False)
