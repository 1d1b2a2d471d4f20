"""Shared test helpers: a variant against its float64 reference, and a tensor-size recorder."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from attnbench import Case, variants
from attnbench.variants.base import Variant


def output_and_reference(
    name: str, case: Case, seed: int = 3, width: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, Variant]:
    """Run ``name`` on seeded inputs; return (output, float64 reference, variant).

    Asserts the output has shape [B, H, N, width] (width defaults to Dv) and the case dtype.
    """
    v = variants.get(name)
    inputs = v.make_inputs(case, seed=seed)
    out = v(inputs, case)
    assert out.shape == (case.batch, case.heads, case.seq_len, width or case.dv)
    assert out.dtype == case.torch_dtype
    ref = v.reference({k: t.double() for k, t in inputs.items()}, case)
    return out, ref, v


def within_tolerance(name: str, case: Case, seed: int = 3, width: int | None = None) -> bool:
    """max|out - ref| <= atol + rtol·max|ref| with the variant's own tolerance for the dtype."""
    out, ref, v = output_and_reference(name, case, seed, width)
    atol, rtol = v.tolerance(case.dtype)
    return float((out.double() - ref).abs().max()) <= atol + rtol * float(ref.abs().max())


class MaxNumel(TorchDispatchMode):
    """Records the largest tensor any op produces inside the ``with`` block."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


def assert_gradients_match(
    name: str,
    case: Case,
    keys: tuple[str, ...] | None = None,
    seed: int = 2,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> None:
    """Gradients of sum(out²) into ``keys`` (default: every input) match the float64 reference.

    Also fails when an input the reference differentiates gets no gradient from the kernel.
    """
    v = variants.get(name)
    inputs = v.make_inputs(case, seed=seed)
    names = list(keys) if keys is not None else list(inputs)
    for k in names:
        inputs[k].requires_grad_(True)
    grads = torch.autograd.grad(v(inputs, case).square().sum(), [inputs[k] for k in names])
    ref_in = {k: t.detach().double() for k, t in inputs.items()}
    for k in names:
        ref_in[k].requires_grad_(True)
    ref_grads = torch.autograd.grad(
        v.reference(ref_in, case).square().sum(), [ref_in[k] for k in names]
    )
    for k, g, r in zip(names, grads, ref_grads, strict=True):
        assert torch.allclose(g.double(), r, atol=atol, rtol=rtol), f"gradient of {k!r}"
