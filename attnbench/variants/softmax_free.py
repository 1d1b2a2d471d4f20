"""Softmax-free bilinear attention (V13, derived from Levine et al., "Limits to depth").

O = (Q Kᵀ) V = Q (Kᵀ V): no softmax, **no scale and no normalisation** (no 1/N, no 1/√D), so
output magnitudes grow like √(N·D)·|q||k||v| and are unbounded in N; tolerances are therefore
relative to max|ref| (see :meth:`_SoftmaxFree.tolerance`).

Implementations:

* ``softmax_free.quadratic`` (QKᵀ)V in query blocks (``block_q``): O(N²) time, only a
  [B, H, block_q, N] score block in memory. Causal: keys past the block's last query are
  skipped and the rest of the diagonal block is zeroed.
* ``softmax_free.linear`` (default) Q(KᵀV): O(N) time and memory. Causal runs as the chunked
  recurrence, vectorised over chunks of ``chunk`` tokens: an intra-chunk masked quadratic
  product plus the exclusive prefix sum of the per-chunk [D, Dv] states Kᵀ_c V_c (state in
  fp32). N is zero-padded up to a multiple of the chunk (zero rows contribute nothing).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from attnbench.case import Case
from attnbench.variants.base import (
    Inputs,
    ParamSpec,
    Variant,
    VariantInfo,
    causal_mask,
    element_size,
    score_pairs,
)
from attnbench.variants.registry import register

RELATIVE_TOLERANCE = {"fp64": 1e-12, "fp32": 2e-5, "fp16": 1e-2, "bf16": 5e-2}


def quadratic_reference(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool
) -> torch.Tensor:
    """(Q Kᵀ ⊙ mask) V, materialised (any dtype). Shapes as :func:`quadratic_blocks`."""
    s = q @ k.transpose(-2, -1)
    if causal:
        s = s.masked_fill(~causal_mask(q.shape[-2], k.shape[-2], q.device), 0.0)
    return s @ v


def quadratic_blocks(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, block_q: int
) -> torch.Tensor:
    """(Q Kᵀ) V by query blocks; causal blocks stop at their last query's key.

    Args:
        q, k: [B, H, N, D]; v: [B, H, N, Dv] (computed in their own dtype).
        causal: key j visible to query i iff j <= i.
        block_q: query rows per block.

    Returns:
        [B, H, N, Dv].
    """
    n = q.shape[-2]
    grad = torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v))
    outs: list[torch.Tensor] = []
    out = None if grad else q.new_empty((*q.shape[:-1], v.shape[-1]))
    for qs in range(0, n, block_q):
        qe = min(qs + block_q, n)
        ke = qe if causal else n
        s = q[..., qs:qe, :] @ k[..., :ke, :].transpose(-2, -1)
        if causal:
            s = s.masked_fill_(~causal_mask(qe - qs, ke, q.device, q_offset=qs), 0.0)
        if out is None:
            outs.append(s @ v[..., :ke, :])
        else:
            torch.matmul(s, v[..., :ke, :], out=out[..., qs:qe, :])
    return torch.cat(outs, dim=-2) if out is None else out


def linear_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, chunk: int
) -> torch.Tensor:
    """Q (Kᵀ V); causal through the chunked recurrence (intra masked + prefix state).

    Args:
        q, k: [B, H, N, D]; v: [B, H, N, Dv].
        causal: key j visible to query i iff j <= i.
        chunk: chunk length C of the causal recurrence (unused when not causal).

    Returns:
        [B, H, N, Dv] in the dtype of ``q``.
    """
    if not causal:
        return q @ (k.transpose(-2, -1) @ v)
    b, h, n = q.shape[:3]
    c = min(chunk, n)
    nc = math.ceil(n / c)
    pad = (0, 0, 0, nc * c - n)
    qc, kc, vc = (F.pad(t, pad).view(b, h, nc, c, t.shape[-1]) for t in (q, k, v))
    states = (kc.transpose(-2, -1) @ vc).float()  # [B, H, nc, D, Dv]
    before = torch.cat([torch.zeros_like(states[:, :, :1]), states[:, :, :-1]], dim=2)
    inter = qc @ before.cumsum(dim=2).to(q.dtype)
    s = (qc @ kc.transpose(-2, -1)).masked_fill(~causal_mask(c, c, q.device), 0.0)
    out = inter + s @ vc
    return out.view(b, h, nc * c, -1)[:, :, :n]


class _SoftmaxFree(Variant):
    """Reference, relative tolerance and byte model shared by both orders."""

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return quadratic_reference(inputs["q"], inputs["k"], inputs["v"], case.causal)

    def exp_count(self, case: Case) -> int:
        """No exponentials: E = 0."""
        return 0

    def tolerance(self, dtype: str) -> tuple[float, float]:
        """Purely relative (atol 0): the output is unnormalised and grows with N and D."""
        return 0.0, RELATIVE_TOLERANCE[dtype]


@register(default=True)
class SoftmaxFreeLinear(_SoftmaxFree):
    """Q(KᵀV) in O(N); causal via the chunked recurrence."""

    info = VariantInfo(
        name="softmax_free.linear",
        summary="Q (K^T V), no softmax or scale; causal as a chunked recurrence, O(N)",
        time_complexity="O(N)",
        memory_complexity="O(N)",
        skips_masked=False,
        params=(ParamSpec("chunk", 128, int, "causal chunk length C (tokens)", minimum=1),),
        flops_model=(
            "4BHN*D*Dv (K^T V then Q state); causal: 4BHN'*D*Dv + 2BHN'*C*(D+Dv), "
            "N' = N rounded up to a multiple of C = min(chunk, N)"
        ),
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k, v = inputs["q"], inputs["k"], inputs["v"]
        return linear_attention(q, k, v, case.causal, int(self.param(case, "chunk")))

    def forward_flops(self, case: Case) -> int:
        b, h, n, d, dv = case.batch, case.heads, case.seq_len, case.head_dim, case.dv
        if not case.causal:
            return 4 * b * h * n * d * dv
        c = min(int(self.param(case, "chunk")), n)
        padded = math.ceil(n / c) * c
        return 4 * b * h * padded * d * dv + 2 * b * h * padded * c * (d + dv)

    def memory_bytes(self, case: Case) -> int:
        """Output and the [D, Dv] state(s); causal adds per-chunk states and C×C blocks."""
        e = element_size(case.dtype)
        b, h, n, d, dv = case.batch, case.heads, case.seq_len, case.head_dim, case.dv
        out = e * b * h * n * dv
        if not case.causal:
            return out + e * b * h * d * dv
        c = min(int(self.param(case, "chunk")), n)
        nc = math.ceil(n / c)
        return 3 * out + 4 * 3 * b * h * nc * d * dv + e * b * h * nc * c * c


@register
class SoftmaxFreeQuadratic(_SoftmaxFree):
    """(QKᵀ)V by query blocks; O(N²) time, O(N·block_q) memory."""

    info = VariantInfo(
        name="softmax_free.quadratic",
        summary="(Q K^T) V, no softmax or scale, in query blocks",
        memory_complexity="O(N)",
        skips_masked=True,
        params=(ParamSpec("block_q", 256, int, "query block size (tokens)", minimum=1),),
        flops_model=(
            "4BHN^2D: 2BHN^2D (QK^T) + 2BHN^2Dv ((QK^T)V); causal counts N(N+1)/2 pairs "
            "(keys past each block skipped)"
        ),
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k, v = inputs["q"], inputs["k"], inputs["v"]
        return quadratic_blocks(q, k, v, case.causal, int(self.param(case, "block_q")))

    def forward_flops(self, case: Case) -> int:
        pairs = score_pairs(case, self.info.skips_masked)
        return 2 * case.batch * case.heads * pairs * (case.head_dim + case.dv)

    def memory_bytes(self, case: Case) -> int:
        """Output plus one [B, H, block_q, N] score block in the input dtype."""
        e = element_size(case.dtype)
        b, h, n = case.batch, case.heads, case.seq_len
        bq = min(int(self.param(case, "block_q")), n)
        return e * b * h * (n * case.dv + bq * n)
