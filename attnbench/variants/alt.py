"""AttentionAlt (V2): softmax attention followed by a per-head 4th matrix W.

O = (1/√d_k) · softmax(QKᵀ/√d_k) V Wᵀ with W [D_out, Dv] per head (input ``w`` [H, D_out, Dv];
a shared [D_out, Dv] matrix is accepted too). By associativity (PV)Wᵀ = P(VWᵀ); the cheaper
order is chosen: "after" (SDPA, then a [N, Dv]×[Dv, D_out] GEMM) when D_out >= Dv, "before"
(SDPA on VWᵀ, so the PV product is only D_out wide) when D_out < Dv. The outer 1/√d_k is
folded into W (an H·D_out·Dv scaling, not counted as matmul FLOPs). Output [B, H, N, D_out].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from attnbench.case import Case
from attnbench.variants.base import (
    Inputs,
    ParamSpec,
    Variant,
    VariantInfo,
    default_scale,
    element_size,
    naive_softmax_attention,
    score_pairs,
)
from attnbench.variants.registry import register
from attnbench.variants.softmax import sdpa_backend_choice

ORDERS = ("auto", "before", "after")


def alt_order(order: str, d_out: int, dv: int) -> str:
    """``before`` (transform V first) or ``after`` (transform the output); ``auto`` picks the
    cheaper: before when D_out < Dv, else after."""
    if order != "auto":
        return order
    return "before" if d_out < dv else "after"


def alt_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, w: torch.Tensor, causal: bool, order: str
) -> torch.Tensor:
    """(1/√D) SDPA(Q, K, V) Wᵀ in the given multiplication order.

    Args:
        q, k: [B, H, N, D]; v: [B, H, N, Dv].
        w: [H, D_out, Dv] per head, or [D_out, Dv] shared by all heads.
        causal: key j visible to query i iff j <= i.
        order: ``before`` | ``after`` | ``auto``.

    Returns:
        [B, H, N, D_out] in the dtype of ``q``.
    """
    wt = (w * default_scale(q.shape[-1])).transpose(-2, -1)  # [(H,) Dv, D_out]
    if alt_order(order, w.shape[-2], v.shape[-1]) == "before":
        return F.scaled_dot_product_attention(q, k, v @ wt, is_causal=causal)
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal) @ wt


@register(default=True)
class AltNaive(Variant):
    """SDPA with the 4th matrix applied before or after, whichever is cheaper."""

    info = VariantInfo(
        name="alt.naive",
        summary="(1/sqrt(D)) softmax(QK^T/sqrt(D)) V W^T, SDPA plus one GEMM",
        memory_complexity="O(N)",
        extra_inputs=("w",),
        skips_masked=True,
        params=(
            ParamSpec("d_out", 0, int, "rows of W, output width (0 means Dv)", minimum=0),
            ParamSpec("order", "auto", str, "where W is applied", choices=ORDERS),
        ),
        grad_inputs=("q", "k", "v", "w"),
        flops_model=(
            "2BHN^2D (QK^T) + 2BHN^2Dp (PV) + 2BHN*Dv*D_out (W), Dp = D_out when W is applied "
            "before (D_out < Dv) else Dv; = 4BHN^2D + 2BHN*D*D_out at D_out = Dv = D; "
            "causal counts N(N+1)/2 pairs"
        ),
    )

    def d_out(self, case: Case) -> int:
        """Output width D_out (the ``d_out`` parameter; 0, the default, means Dv)."""
        value = int(self.param(case, "d_out"))
        return value if value > 0 else case.dv

    def order(self, case: Case) -> str:
        return alt_order(str(self.param(case, "order")), self.d_out(case), case.dv)

    def extra_inputs(self, case: Case, gen: torch.Generator) -> Inputs:
        """``w`` [H, D_out, Dv] ~ N(0, 1/Dv) in the case dtype."""
        w = torch.randn(case.heads, self.d_out(case), case.dv, generator=gen) / case.dv**0.5
        return {"w": w.to(case.torch_dtype)}

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k, v, w = inputs["q"], inputs["k"], inputs["v"], inputs["w"]
        return alt_attention(q, k, v, w, case.causal, self.order(case))

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, w = inputs["q"], inputs["w"]
        out = naive_softmax_attention(q, inputs["k"], inputs["v"], case.causal)
        return default_scale(q.shape[-1]) * (out @ w.transpose(-2, -1))

    def backend(self, inputs: Inputs, case: Case) -> str:
        q, k, v = inputs["q"], inputs["k"], inputs["v"]
        return "sdpa." + sdpa_backend_choice(q, k, v, case.causal)

    def forward_flops(self, case: Case) -> int:
        b, h, n, dv, d_out = case.batch, case.heads, case.seq_len, case.dv, self.d_out(case)
        pv_width = d_out if self.order(case) == "before" else dv
        pairs = score_pairs(case, self.info.skips_masked)
        return 2 * b * h * pairs * (case.head_dim + pv_width) + 2 * b * h * n * dv * d_out

    def bytes_moved(self, case: Case) -> int:
        """q, k, v and W read once, the [B, H, N, D_out] output written once."""
        e = element_size(case.dtype)
        b, h, n, d_out = case.batch, case.heads, case.seq_len, self.d_out(case)
        return e * (b * h * n * (2 * case.head_dim + case.dv + d_out) + h * d_out * case.dv)

    def memory_bytes(self, case: Case) -> int:
        """The output plus the SDPA output (after) or VWᵀ (before), plus row statistics."""
        e = element_size(case.dtype)
        b, h, n, d_out = case.batch, case.heads, case.seq_len, self.d_out(case)
        inner = d_out if self.order(case) == "before" else case.dv
        return e * b * h * n * (d_out + inner) + 4 * b * h * n * 2


