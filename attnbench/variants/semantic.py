"""Semantic attention (V10, "Three LN innovations" blog): a cosine-similarity logit bias.

O = softmax(QKᵀ/√D + τ·C + mask) V with C_ij = cos(x_i, x_j) = x̂_i·x̂_j,
x̂ = x / max(‖x‖, 1e-12), computed from the layer input ``x`` [B, N, d_model] (d_model = H·D)
and **shared by all heads**; τ is a scalar temperature (parameter ``tau``, default 1).

Implementations:

* ``semantic.bias`` (default) C materialised once per batch ([B, N, N], fp32), scaled by τ,
  causal −inf folded in, then SDPA with that float ``attn_mask`` broadcast over heads.
  A kernel with an arbitrary mask cannot skip masked tiles, so causal is not halved.
* ``semantic.fused`` augmented dims, no N×N tensor: q' = [q/√D, τ·x̂], k' = [k, x̂], SDPA with
  scale 1 and head dim D + d_model (e.g. 64 + 512 = 576, beyond FlashAttention's 256).
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
    causal_mask,
    default_scale,
    element_size,
    score_pairs,
)
from attnbench.variants.registry import register
from attnbench.variants.softmax import sdpa_backend_choice
from attnbench.variants.time import sdpa_equal_width

EPS = 1e-12
TAU = ParamSpec("tau", 1.0, float, "temperature of the cosine-similarity bias (all heads)")


def unit_rows(x: torch.Tensor) -> torch.Tensor:
    """x / max(‖x‖₂, 1e-12) along the last axis, in fp32 (or fp64 for fp64 input)."""
    xf = x if x.dtype == torch.float64 else x.float()
    norm: torch.Tensor = xf.norm(dim=-1, keepdim=True)
    return xf / norm.clamp_min(EPS)


def cosine_bias(x: torch.Tensor, tau: float, causal: bool, dtype: torch.dtype) -> torch.Tensor:
    """τ·cos(x_i, x_j) (+ causal −inf) as a [B, 1, N, N] float mask in ``dtype``."""
    xh = unit_rows(x)
    bias = (xh @ xh.transpose(-2, -1)).mul_(tau)
    if causal:
        n = x.shape[-2]
        bias = bias.masked_fill_(~causal_mask(n, n, x.device), float("-inf"))
    return bias.to(dtype).unsqueeze(1)


class _Semantic(Variant):
    """Inputs, reference and byte model shared by both forms."""

    def tau(self, case: Case) -> float:
        return float(self.param(case, "tau"))

    def extra_inputs(self, case: Case, gen: torch.Generator) -> Inputs:
        """``x`` [B, N, H·D] ~ N(0, 1), the layer input, in the case dtype."""
        x = torch.randn(case.batch, case.seq_len, case.heads * case.head_dim, generator=gen)
        return {"x": x.to(case.torch_dtype)}

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k, v = inputs["q"], inputs["k"], inputs["v"]
        s = (q @ k.transpose(-2, -1)) * default_scale(q.shape[-1])
        s = s + cosine_bias(inputs["x"], self.tau(case), case.causal, s.dtype)
        return torch.softmax(s, dim=-1) @ v

    def bytes_moved(self, case: Case) -> int:
        """q, k, v and x read once, the output written once."""
        e = element_size(case.dtype)
        b, h, n, d = case.batch, case.heads, case.seq_len, case.head_dim
        return e * (b * h * n * (2 * d + 2 * case.dv) + b * n * h * d)

    def backend(self, inputs: Inputs, case: Case) -> str:
        q, k, v = inputs["q"], inputs["k"], inputs["v"]
        return "sdpa." + sdpa_backend_choice(q, k, v, case.causal)


@register(default=True)
class SemanticBias(_Semantic):
    """Materialised τ·C shared by the heads, SDPA with a float attn_mask."""

    info = VariantInfo(
        name="semantic.bias",
        summary="cosine bias tau*C [B,N,N] materialised, SDPA with a float attn_mask",
        memory_complexity="O(N^2)",
        extra_inputs=("x",),
        skips_masked=False,
        params=(TAU,),
        grad_inputs=("q", "k", "v", "x"),
        flops_model=(
            "2BN^2*d_model (C = xh xh^T, once for all heads) + 4BHN^2D (SDPA, full matrix: "
            "an explicit mask skips nothing)"
        ),
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q = inputs["q"]
        bias = cosine_bias(inputs["x"], self.tau(case), case.causal, q.dtype)
        return F.scaled_dot_product_attention(q, inputs["k"], inputs["v"], attn_mask=bias)

    def forward_flops(self, case: Case) -> int:
        b, h, n, d = case.batch, case.heads, case.seq_len, case.head_dim
        return 2 * b * n * n * h * d + 2 * b * h * n * n * (d + case.dv)

    def memory_bytes(self, case: Case) -> int:
        """Output, the fp32 [B, N, N] C and its copy in the input dtype, row statistics."""
        e = element_size(case.dtype)
        b, h, n = case.batch, case.heads, case.seq_len
        return e * b * h * n * case.dv + (4 + e) * b * n * n + 4 * b * h * n * 2


@register
class SemanticFused(_Semantic):
    """Augmented dims q' = [q/√D, τ·x̂], k' = [k, x̂]; SDPA with scale 1, O(N) memory."""

    info = VariantInfo(
        name="semantic.fused",
        summary="bias fused as extra head dims [q/sqrt(D), tau*xh].[k, xh], SDPA scale 1",
        memory_complexity="O(N)",
        extra_inputs=("x",),
        skips_masked=True,
        params=(TAU,),
        grad_inputs=("q", "k", "v", "x"),
        flops_model=(
            "4BHN^2D + 2BHN^2*d_model: 2BHN^2(D + d_model) (QK^T, width D + d_model) + "
            "2BHN^2Dv (PV); causal counts N(N+1)/2 pairs"
        ),
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k = inputs["q"], inputs["k"]
        shape = (q.shape[0], q.shape[1], q.shape[2], -1)
        xh = unit_rows(inputs["x"]).to(q.dtype).unsqueeze(1).expand(shape)
        q_aug = torch.cat([q * default_scale(q.shape[-1]), self.tau(case) * xh], dim=-1)
        k_aug = torch.cat([k, xh], dim=-1)
        return sdpa_equal_width(q_aug, k_aug, inputs["v"], case.causal, scale=1.0)

    def forward_flops(self, case: Case) -> int:
        d_model = case.heads * case.head_dim
        pairs = score_pairs(case, self.info.skips_masked)
        return 2 * case.batch * case.heads * pairs * (case.head_dim + d_model + case.dv)

    def memory_bytes(self, case: Case) -> int:
        """Output plus the augmented q', k' ([B, H, N, D + d_model] each) and row statistics."""
        e = element_size(case.dtype)
        b, h, n, d = case.batch, case.heads, case.seq_len, case.head_dim
        return e * b * h * n * (case.dv + 2 * (d + h * d)) + 4 * b * h * n * 2
