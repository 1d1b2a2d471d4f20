"""``attnbench check``: every variant against its float64 reference on small shapes."""

from __future__ import annotations

import typer
from rich.table import Table

from attnbench import variants
from attnbench.case import Case
from attnbench.cli._common import out_console
from attnbench.devices import get_device
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
        [], "--variant", "-v", help="Check only this variant (family or family.impl); repeatable."
    ),
    dtype: list[str] = typer.Option(["fp32"], "--dtype", help="fp32 | fp16 | bf16; repeatable."),
    device: str = typer.Option("cpu", "--device", "-d", help="auto | cpu | cuda | cuda:N."),
    plugin: list[str] = typer.Option(
        [], "--plugin", help="Import MODULE first (it registers variants); repeatable."
    ),
) -> None:
    """Check outputs and gradients of variants against their references; exit 1 on a mismatch."""
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
    failures = 0
    reasons: dict[str, int] = {}

    def skip(name: str, case: Case, why: str) -> None:
        number = reasons.setdefault(why, len(reasons) + 1)
        table.add_row(name, case.shape_id, "", "", "", "", f"skipped [{number}]")

    for name in names:
        for case in check_cases(name, dtype):
            v = variants.get(name)
            why = v.unsupported(case, dev.name) or dev.dtype_problem(case.dtype)
            forward_only = case.replace(pass_="fwd")
            if why and case.pass_ != "fwd" and not v.unsupported(forward_only, dev.name):
                case, why = forward_only, None  # check what this device can run: the forward
            if why:
                skip(name, case, why)
                continue
            try:
                result = check_case(v, case, dev.torch_device)
            except (UnsupportedCase, NotImplementedError) as exc:
                skip(name, case, str(exc))
                continue
            failures += not result.passed
            table.add_row(name, result.checked_id, *_cells(result))
    console = out_console()
    console.print(table)
    for why, number in reasons.items():
        console.print(f"[{number}] {why}", markup=False)
    if failures:
        console.print(f"{failures} mismatch(es)", style="red")
        raise typer.Exit(EXIT_REGRESSION)


def _cells(r: CheckResult) -> tuple[str, ...]:
    grad = f"{r.grad_max_rel:.2e}" if r.grad_max_rel is not None else "-"
    verdict = "[green]ok[/]" if r.passed else f"[red]MISMATCH[/] {r.reason}"
    tolerance = f"{r.atol:.0e}+{r.rtol:.0e}·|ref|"
    return (f"{r.max_abs:.2e}", f"{r.max_rel:.2e}", grad, tolerance, verdict)


