"""Sinkhorn (doubly stochastic) attention (V9), log domain, fixed iteration count.

Derived from Sinkformers (Sander et al., AISTATS 2022; code michaelsdr/sinkformers). With
S = QKᵀ/√D, uniform marginals 1/N and eps = 1, starting from u = v = 0, iteration ``it``
(0-based) is a row step when even and a column step when odd::

    row:    u_i = log(1/N) - logsumexp_j (S_ij + v_j)
    column: v_j = log(1/N) - logsumexp_i (S_ij + u_i)

then P = N·exp(S + u 1ᵀ + 1 vᵀ) and O = P V. ``iters = 1`` is exactly softmax attention.
Unlike the reference code there is no early stop (it forces a host sync per iteration) and
no masking (causal is rejected: the only lower-triangular doubly stochastic matrix is the
identity). The log-sum-exps run in fp32 whatever the input dtype.

Implementations:

* ``sinkhorn.naive``     (default) materialises S [B, H, N, N] in fp32: 4BHN²D FLOPs.
* ``sinkhorn.streaming`` keeps only u, v [B, H, N]; every step recomputes S strip by strip
  (``block`` query rows for row steps and the output pass, ``block`` key columns for column
  steps), so no N×N tensor is ever held: (2·iters + 2)BHN²D FLOPs for odd ``iters`` (the last
  row step is fused into the output pass, flash-style), (2·iters + 4)BHN²D for even ``iters``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.utils.checkpoint import checkpoint

from attnbench.case import Case
from attnbench.variants.base import (
    Inputs,
    ParamSpec,
    Variant,
    VariantInfo,
    default_scale,
    element_size,
)
from attnbench.variants.registry import register

ITERS = ParamSpec("iters", 5, int, "Sinkhorn iterations (row, column, row, ...)", minimum=1)
BLOCK = ParamSpec("block", 256, int, "strip width in tokens for streaming recomputation", minimum=1)
CAUSAL_NOTE = (
    "Sinkhorn normalisation is not meaningful under a causal mask: the only lower-triangular "
    "doubly stochastic matrix is the identity, so iterating drives P towards I"
)


def sinkhorn_potentials(s: torch.Tensor, iters: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-domain Sinkhorn potentials of the score matrix ``s`` [..., N, N] (any float dtype).

    Returns:
        u [..., N, 1] and v [..., 1, N] such that P = N·exp(s + u + v).
    """
    n = s.shape[-1]
    log_mu = -math.log(n)
    u = torch.zeros((*s.shape[:-1], 1), dtype=s.dtype, device=s.device)
    v = torch.zeros((*s.shape[:-2], 1, n), dtype=s.dtype, device=s.device)
    for it in range(iters):
        if it % 2 == 0:
            u = log_mu - torch.logsumexp(s + v, dim=-1, keepdim=True)
        else:
            v = log_mu - torch.logsumexp(s + u, dim=-2, keepdim=True)
    return u, v


def sinkhorn_plan(
    q: torch.Tensor, k: torch.Tensor, iters: int, scale: float | None = None
) -> torch.Tensor:
    """The materialised transport plan P [B, H, N, N] (fp32, or float64 for float64 inputs).

    Rows of P sum to 1 after a row step (odd ``iters``); columns approach 1 as ``iters`` grows.
    """
    work = torch.float64 if q.dtype == torch.float64 else torch.float32
    sc = default_scale(q.shape[-1]) if scale is None else scale
    s = (q.to(work) @ k.to(work).transpose(-2, -1)) * sc
    u, v = sinkhorn_potentials(s, iters)
    return torch.exp(s + u + v + math.log(s.shape[-1]))


def sinkhorn_naive(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, iters: int) -> torch.Tensor:
    """Materialised Sinkhorn attention: P V with P from :func:`sinkhorn_plan`; [B, H, N, Dv]."""
    p = sinkhorn_plan(q, k, iters)
    return (p @ v.to(p.dtype)).to(v.dtype)


def _strips(n: int, block: int) -> list[tuple[int, int]]:
    return [(start, min(start + block, n)) for start in range(0, n, block)]


def _run(fn: Callable[..., torch.Tensor], grad: bool, *args: torch.Tensor) -> torch.Tensor:
    """Call ``fn``; under autograd checkpoint it so only its inputs are saved, never a strip."""
    if grad:
        out = checkpoint(fn, *args, use_reentrant=False, preserve_rng_state=False)
        assert isinstance(out, torch.Tensor)
        return out
    return fn(*args)


def _row_lse(q_blk: torch.Tensor, k: torch.Tensor, v_pot: torch.Tensor) -> torch.Tensor:
    """logsumexp_j (S_ij + v_j) for a strip of (pre-scaled, fp32) query rows: [B, H, rows]."""
    return torch.logsumexp(q_blk @ k.transpose(-2, -1) + v_pot.unsqueeze(-2), dim=-1)


def _col_lse(q: torch.Tensor, k_blk: torch.Tensor, u_pot: torch.Tensor) -> torch.Tensor:
    """logsumexp_i (S_ij + u_i) for a strip of key columns: [B, H, cols]."""
    return torch.logsumexp(q @ k_blk.transpose(-2, -1) + u_pot.unsqueeze(-1), dim=-2)


def _out_fused(
    q_blk: torch.Tensor, k: torch.Tensor, vals: torch.Tensor, v_pot: torch.Tensor
) -> torch.Tensor:
    """Output rows when the last step is a row step: softmax_j(S_ij + v_j) V."""
    return torch.softmax(q_blk @ k.transpose(-2, -1) + v_pot.unsqueeze(-2), dim=-1) @ vals


def _out_plain(
    q_blk: torch.Tensor,
    k: torch.Tensor,
    vals: torch.Tensor,
    v_pot: torch.Tensor,
    u_blk: torch.Tensor,
) -> torch.Tensor:
    """Output rows from both potentials: N·exp(S_ij + u_i + v_j) V."""
    logits = q_blk @ k.transpose(-2, -1) + v_pot.unsqueeze(-2) + u_blk.unsqueeze(-1)
    return torch.exp(logits + math.log(k.shape[-2])) @ vals


def sinkhorn_streaming(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, iters: int, block: int
) -> torch.Tensor:
    """Sinkhorn attention holding only u, v [B, H, N] and one [block, N] strip at a time.

    Args:
        q, k: [B, H, N, D]; v: [B, H, N, Dv]. iters: Sinkhorn steps. block: strip width.

    Returns:
        [B, H, N, Dv] in v's dtype; all scores and log-sum-exps in fp32.
    """
    n = q.shape[-2]
    log_mu = -math.log(n)
    qf = q.float() * default_scale(q.shape[-1])
    kf, vf = k.float(), v.float()
    grad = torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v))
    u_pot = torch.zeros(q.shape[:-1], device=q.device)
    v_pot = torch.zeros(k.shape[:-1], device=q.device)
    fused = iters % 2 == 1
    for it in range(iters - 1 if fused else iters):
        if it % 2 == 0:
            lse = [_run(_row_lse, grad, qf[..., a:b, :], kf, v_pot) for a, b in _strips(n, block)]
            u_pot = log_mu - torch.cat(lse, dim=-1)
        else:
            lse = [_run(_col_lse, grad, qf, kf[..., a:b, :], u_pot) for a, b in _strips(n, block)]
            v_pot = log_mu - torch.cat(lse, dim=-1)
    if fused:
        outs = [
            _run(_out_fused, grad, qf[..., a:b, :], kf, vf, v_pot) for a, b in _strips(n, block)
        ]
    else:
        outs = [
            _run(_out_plain, grad, qf[..., a:b, :], kf, vf, v_pot, u_pot[..., a:b])
            for a, b in _strips(n, block)
        ]
    return torch.cat(outs, dim=-2).to(v.dtype)


class _Sinkhorn(Variant):
    """Shared reference and exp count of the Sinkhorn family."""

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        """The plan P materialised in the inputs' dtype (float64 for checks), then P V."""
        p = sinkhorn_plan(inputs["q"], inputs["k"], int(self.param(case, "iters")))
        return p @ inputs["v"].to(p.dtype)

    def exp_count(self, case: Case) -> int:
        """(iters + 1)·BHN²: one exp per score inside each logsumexp, plus the final exp."""
        n = case.seq_len
        return (int(self.param(case, "iters")) + 1) * case.batch * case.heads * n * n


@register(default=True)
class SinkhornNaive(_Sinkhorn):
    """Materialised log-domain Sinkhorn attention (S held in fp32)."""

    info = VariantInfo(
        name="sinkhorn.naive",
        summary="doubly stochastic attention, log-domain Sinkhorn on the materialised S",
        memory_complexity="O(N^2)",
        causal=False,
        causal_note=CAUSAL_NOTE,
        params=(ITERS,),
        flops_model="4BHN^2D: 2BHN^2D (QK^T once) + 2BHN^2Dv (PV)",
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return sinkhorn_naive(inputs["q"], inputs["k"], inputs["v"], int(self.param(case, "iters")))

    def forward_flops(self, case: Case) -> int:
        b, h, n = case.batch, case.heads, case.seq_len
        return 2 * b * h * n * n * (case.head_dim + case.dv)

    def memory_bytes(self, case: Case) -> int:
        """S and one same-sized temporary (S + v, or the plan) in fp32, plus the output."""
        b, h, n = case.batch, case.heads, case.seq_len
        return 2 * 4 * b * h * n * n + element_size(case.dtype) * b * h * n * case.dv


@register
class SinkhornStreaming(_Sinkhorn):
    """Sinkhorn attention recomputing S in strips every step; O(N) memory."""

    info = VariantInfo(
        name="sinkhorn.streaming",
        summary="Sinkhorn attention, u/v potentials only, S recomputed in strips each step",
        memory_complexity="O(N)",
        causal=False,
        causal_note=CAUSAL_NOTE,
        params=(ITERS, BLOCK),
        flops_model=(
            "(2 iters + 2)BHN^2D for odd iters (last row step fused into the output pass), "
            "(2 iters + 4)BHN^2D for even iters: 2BHN^2D per recomputed S, 2BHN^2Dv for PV"
        ),
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return sinkhorn_streaming(
            inputs["q"],
            inputs["k"],
            inputs["v"],
            int(self.param(case, "iters")),
            int(self.param(case, "block")),
        )

    def forward_flops(self, case: Case) -> int:
        """Recomputations of S: iters (odd, last one fused) or iters + 1 (even), plus PV."""
        b, h, n, it = case.batch, case.heads, case.seq_len, int(self.param(case, "iters"))
        recomputes = it if it % 2 == 1 else it + 1
        return 2 * b * h * n * n * (recomputes * case.head_dim + case.dv)

    def memory_bytes(self, case: Case) -> int:
        """fp32 copies of q, k, v, the potentials, two [block, N] fp32 strips, the output."""
        b, h, n = case.batch, case.heads, case.seq_len
        blk = min(int(self.param(case, "block")), n)
        copies = 4 * b * h * n * (2 * case.head_dim + case.dv + 2)
        strips = 2 * 4 * b * h * blk * n
        return copies + strips + element_size(case.dtype) * b * h * n * case.dv
