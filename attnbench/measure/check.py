"""Correctness before timing: a case's output (and gradients) against the float64 reference.

The check runs on a *reduced copy* of the case by default (design §4): same variant,
parameters, causal flag and dtype, batch capped at 1 and N capped at ``REDUCED_N`` (509: under
512 and deliberately not a multiple of any block size), so a materialising reference never
dominates the time or memory of a long-context case. N_kv is capped the same way, keeping
N < N_kv (decoding, cross-attention) or N > N_kv where the case has it; heads, heads_kv and
the window are kept. ``full`` mode checks the real shape.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from attnbench.case import Case
from attnbench.variants.base import Inputs, Variant

REDUCED_N = 509
REDUCED_CAP = 512


def reduced_case(case: Case, mode: str) -> Case:
    """The copy of ``case`` the check runs on (``reduced``) or ``case`` itself (``full``)."""
    if mode == "full":
        return case
    n = case.seq_len if case.seq_len <= REDUCED_CAP else REDUCED_N
    if not case.is_cross:
        return case.replace(batch=1, seq_len=n)
    # keep the kind of shape: decoding stays one query, cross-attention stays rectangular
    n_kv = case.nkv if case.nkv <= REDUCED_CAP else REDUCED_N
    if case.seq_len < case.nkv and n >= n_kv:
        n = max(1, n_kv // 2)
    elif case.seq_len > case.nkv and n_kv >= n:
        n_kv = max(1, n // 2)
    return case.replace(batch=1, seq_len=n, seq_len_kv=n_kv)


@dataclass(frozen=True)
class CheckResult:
    """Errors of one check.

    Attributes:
        checked_id: shape id of the case actually checked.
        max_abs: max |out - ref| over the output.
        max_rel: max_abs / max |ref|.
        atol, rtol: tolerance used; pass iff max_abs <= atol + rtol * max|ref|.
        grad_max_rel: worst gradient error relative to that gradient's max |ref| (or None).
        passed: output (and gradients, when checked) within tolerance and finite.
        reason: why it failed, empty when passed.
    """

    checked_id: str
    max_abs: float
    max_rel: float
    atol: float
    rtol: float
    grad_max_rel: float | None
    passed: bool
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def metrics(self) -> dict[str, float]:
        out = {"error/max_abs": self.max_abs, "error/max_rel": self.max_rel}
        if self.grad_max_rel is not None:
            out["error/grad_max_rel"] = self.grad_max_rel
        return out


def _errors(got: torch.Tensor, want: torch.Tensor) -> tuple[float, float, float]:
    """(max_abs, max|want|, max_rel) with NaN/inf in ``got`` reported as inf."""
    got64 = got.detach().to("cpu", torch.float64)
    if not torch.isfinite(got64).all():
        return math.inf, float(want.abs().max()), math.inf
    max_abs = float((got64 - want.detach()).abs().max()) if want.numel() else 0.0
    scale = float(want.detach().abs().max()) if want.numel() else 0.0
    return max_abs, scale, (max_abs / scale if scale > 0 else max_abs)


def _grad_inputs(variant: Variant, inputs: Inputs) -> list[str]:
    return [k for k in variant.info.grad_inputs if k in inputs and inputs[k].is_floating_point()]


def check_case(
    variant: Variant, case: Case, device: torch.device, seed: int = 0, mode: str = "reduced"
) -> CheckResult:
    """Compare ``variant`` with its float64 reference on (a reduced copy of) ``case``."""
    c = reduced_case(case, mode)
    inputs = variant.make_inputs(c, device, seed)
    with_grad = c.pass_ != "fwd" and variant.info.backward
    names = _grad_inputs(variant, inputs) if with_grad else []
    for k in names:
        inputs[k].requires_grad_(True)
    ref_inputs = {
        k: t.detach().to("cpu", torch.float64 if t.is_floating_point() else t.dtype)
        for k, t in inputs.items()
    }
    for k in names:
        ref_inputs[k].requires_grad_(True)
    with torch.set_grad_enabled(with_grad):
        out = variant(inputs, c)
        ref = variant.reference(ref_inputs, c)
    atol, rtol = variant.tolerance(c.dtype)
    max_abs, scale, max_rel = _errors(out, ref)
    reason = ""
    if not max_abs <= atol + rtol * scale:
        reason = (
            f"output differs from reference: max_abs {max_abs:.3g} > {atol:g} + {rtol:g}"
            f"*{scale:.3g}"
        )
    grad_rel = None
    if names:
        grad_rel, grad_reason = _check_grads(out, ref, inputs, ref_inputs, names, atol, rtol, seed)
        reason = reason or grad_reason
    return CheckResult(c.shape_id, max_abs, max_rel, atol, rtol, grad_rel, not reason, reason)


def _check_grads(
    out: torch.Tensor,
    ref: torch.Tensor,
    inputs: Inputs,
    ref_inputs: Inputs,
    names: list[str],
    atol: float,
    rtol: float,
    seed: int,
) -> tuple[float, str]:
    gen = torch.Generator().manual_seed(seed + 1)
    grad_out = torch.randn(ref.shape, generator=gen, dtype=torch.float64)
    got = torch.autograd.grad(out, [inputs[k] for k in names], grad_out.to(out), allow_unused=True)
    want = torch.autograd.grad(ref, [ref_inputs[k] for k in names], grad_out, allow_unused=True)
    worst, reason = 0.0, ""
    for name, g, w in zip(names, got, want, strict=True):
        if g is None and w is None:
            continue
        if g is None or w is None:
            present = g if g is not None else w
            assert present is not None
            if float(present.detach().abs().max()) == 0.0:
                continue
            side = "the kernel" if g is None else "the reference"
            worst = math.inf
            reason = reason or f"gradient of {name!r} is missing from {side} (not differentiable)"
            continue
        max_abs, scale, rel = _errors(g, w)
        worst = max(worst, rel)
        if not reason and not max_abs <= atol + rtol * scale:
            reason = (
                f"gradient of {name!r} differs: max_abs {max_abs:.3g} > {atol:g} + {rtol:g}"
                f"*{scale:.3g}"
            )
    return worst, reason
