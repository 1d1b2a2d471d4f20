"""``attnbench check``: every variant against its float64 reference on small shapes."""

from __future__ import annotations

from collections.abc import Callable

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from attnbench import variants
from attnbench.case import Case
from attnbench.cli._common import err_console, out_console
from attnbench.devices import Device, get_device
from attnbench.errors import EXIT_REGRESSION, InputError, UnsupportedCase
from attnbench.measure.check import CheckResult, check_case

CHECK_SHAPES = ((2, 4, 64, 32), (1, 4, 127, 32))
"""(batch, heads, seq_len, head_dim) checked per variant; 127 is deliberately ragged."""


def check_cases(name: str, dtypes: list[str]) -> list[Case]:
    """The cases ``check`` runs for one variant: shapes × causal × dtypes.

    The pass is ``fwd_bwd`` for differentiable variants, so gradients are checked too.
    """
    v = variants.get(name)
    pass_ = "fwd_bwd" if v.info.backward else "fwd"
    cases = []
    for b, h, n, d in CHECK_SHAPES:
        for causal in (False, True) if v.info.causal else (False,):
            for dtype in dtypes:
                cases.append(Case(b, h, n, d, causal, dtype, {}, name, pass_))
    return cases


def check_command(
    variant: list[str] = typer.Option(
        [],
        "--variant",
        "-v",
        metavar="NAME",
        help="Check only this variant (family or family.impl); repeatable.",
    ),
    dtype: list[str] = typer.Option(
        ["fp32"], "--dtype", metavar="DTYPE", help="fp32 | fp16 | bf16; repeatable."
    ),
    device: str = typer.Option(
        "cpu", "--device", "-d", metavar="DEVICE", help="auto | cpu | cuda | cuda:N."
    ),
    plugin: list[str] = typer.Option(
        [],
        "--plugin",
        metavar="MODULE",
        help="Import MODULE first (it registers variants); repeatable.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar on stderr."),
) -> None:
    """Check outputs and gradients of variants against their references; exit 1 on a mismatch.

    A progress bar runs on stderr; the table and a summary line go to stdout.
    """
    for module in plugin:
        variants.load_module(module)
    for dt in dtype:
        if dt not in ("fp32", "fp16", "bf16"):
            raise InputError(f"--dtype must be fp32, fp16 or bf16, got {dt!r}")
    names = [variants.resolve(v) for v in variant] if variant else variants.names()
    dev = get_device(device)
    table = Table(title=f"attnbench check on {dev.name}")
    for col in ("variant", "case", "max abs", "max rel", "grad rel", "tolerance", "verdict"):
        table.add_column(
            col,
            justify="right" if col.startswith(("max", "grad")) else "left",
            no_wrap=col in ("variant", "case"),
        )
    counts = {"ok": 0, "mismatch": 0, "skipped": 0}
    reasons: dict[str, int] = {}

    def skip(name: str, case: Case, why: str) -> None:
        number = reasons.setdefault(why, len(reasons) + 1)
        counts["skipped"] += 1
        cells = (name, case.shape_id, "", "", "", "", f"skipped [{number}]")
        table.add_row(*(Text(c) for c in cells))

    planned = {name: check_cases(name, dtype) for name in names}
    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
        transient=True,
        disable=quiet,
    )
    err = err_console()
    log_lines = not quiet and not err.is_terminal  # a pipe or CI log: a line per variant
    with progress:
        task = progress.add_task("check", total=sum(len(c) for c in planned.values()))
        for i, (name, cases) in enumerate(planned.items(), 1):
            if log_lines:
                err.print(f"check: {name} ({i}/{len(names)} variants)", markup=False)
            for case in cases:
                progress.update(task, description=f"check {case.case_id}")
                result = _check_one(name, case, dev, skip)
                progress.advance(task)
                if result is None:
                    continue
                counts["ok" if result.passed else "mismatch"] += 1
                table.add_row(Text(name), Text(result.checked_id), *_cells(result))
    console = out_console()
    console.print(table)
    for why, number in reasons.items():
        console.print(f"[{number}] {why}", markup=False)
    console.print(summary(len(names), counts), markup=False,
                  style="red" if counts["mismatch"] else None)
    if counts["mismatch"]:
        raise typer.Exit(EXIT_REGRESSION)


def summary(n_variants: int, counts: dict[str, int]) -> str:
    """``check: 12 variants, 40 cases: 36 ok, 0 mismatches, 4 skipped``."""
    total = sum(counts.values())
    mismatches = counts["mismatch"]
    return (
        f"check: {n_variants} variant{'' if n_variants == 1 else 's'}, {total} cases: "
        f"{counts['ok']} ok, {mismatches} mismatch{'' if mismatches == 1 else 'es'}, "
        f"{counts['skipped']} skipped"
    )


def _check_one(name: str, case: Case, dev: Device, skip: Callable[[str, Case, str], None]
               ) -> CheckResult | None:
    """Check one case on ``dev``; None (after ``skip``) when it cannot run there."""
    v = variants.get(name)
    why = v.unsupported(case, dev.name) or dev.dtype_problem(case.dtype)
    forward_only = case.replace(pass_="fwd")
    if why and case.pass_ != "fwd" and not v.unsupported(forward_only, dev.name):
        case, why = forward_only, None  # check what this device can run: the forward
    if why:
        skip(name, case, why)
        return None
    try:
        return check_case(v, case, dev.torch_device)
    except (UnsupportedCase, NotImplementedError) as exc:
        skip(name, case, str(exc))
        return None


def _cells(r: CheckResult) -> tuple[Text, ...]:
    grad = f"{r.grad_max_rel:.2e}" if r.grad_max_rel is not None else "-"
    verdict = Text("ok", style="green") if r.passed else Text("MISMATCH", style="red")
    if not r.passed:
        verdict.append(f" {r.reason}")
    tolerance = f"{r.atol:.0e}+{r.rtol:.0e}·|ref|"
    plain = (f"{r.max_abs:.2e}", f"{r.max_rel:.2e}", grad, tolerance)
    return (*(Text(c) for c in plain), verdict)


