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

Shapes: both forms run GQA (SDPA ``enable_gqa``; C does not depend on the heads),
cross-attention and decoding, and a window, aligned bottom-right. With N_kv != N the keys
come from their own layer input ``x_kv`` [B, N_kv, d_model] (an extra input only then), so
C_ij = cos(x_i, x_kv_j); self-attention keeps C from ``x`` alone. Masks (causal, window) are
explicit in both forms (folded into the float bias, or a boolean mask), so nothing is skipped
for a window.
"""

from __future__ import annotations

import torch

from attnbench.case import Case
from attnbench.variants._masks import expand_kv, visible_mask
from attnbench.variants._sdpa import sdpa_attention, sdpa_backend_choice
from attnbench.variants.base import (
    Inputs,
    ParamSpec,
    Variant,
    VariantInfo,
    default_scale,
    element_size,
    qkvo_bytes,
)
from attnbench.variants.registry import register
from attnbench.variants.time import sdpa_equal_width

EPS = 1e-12
TAU = ParamSpec("tau", 1.0, float, "temperature of the cosine-similarity bias (all heads)")


def unit_rows(x: torch.Tensor) -> torch.Tensor:
    """x / max(‖x‖₂, 1e-12) along the last axis, in fp32 (or fp64 for fp64 input)."""
    xf = x if x.dtype == torch.float64 else x.float()
    norm: torch.Tensor = xf.norm(dim=-1, keepdim=True)
    return xf / norm.clamp_min(EPS)


def cosine_bias(
    x: torch.Tensor,
    tau: float,
    causal: bool,
    dtype: torch.dtype,
    x_kv: torch.Tensor | None = None,
    window: int | None = None,
) -> torch.Tensor:
    """τ·cos(x_i, x_kv_j) (+ −inf where hidden) as a [B, 1, N, N_kv] float mask in ``dtype``.

    ``x_kv`` defaults to ``x`` (self-attention); masks are aligned bottom-right.
    """
    xh = unit_rows(x)
    kh = xh if x_kv is None else unit_rows(x_kv)
    bias = (xh @ kh.transpose(-2, -1)).mul_(tau)
    keep = visible_mask(x.shape[-2], kh.shape[-2], causal, window, x.device)
    if keep is not None:
        bias = bias.masked_fill_(~keep, float("-inf"))
    return bias.to(dtype).unsqueeze(1)


def key_input(inputs: Inputs) -> torch.Tensor:
    """The layer input the keys come from: ``x_kv`` in cross-attention, else ``x``."""
    return inputs["x_kv"] if "x_kv" in inputs else inputs["x"]


class _Semantic(Variant):
    """Inputs, reference and byte model shared by both forms."""

    def tau(self, case: Case) -> float:
        return float(self.param(case, "tau"))

    def extra_inputs(self, case: Case, gen: torch.Generator) -> Inputs:
        """``x`` [B, N, H·D] ~ N(0, 1), the layer input, in the case dtype; with N_kv != N
        also ``x_kv`` [B, N_kv, H·D], the input the keys come from."""
        d_model = case.heads * case.head_dim
        x = torch.randn(case.batch, case.seq_len, d_model, generator=gen)
        out = {"x": x.to(case.torch_dtype)}
        if case.is_cross:
            x_kv = torch.randn(case.batch, case.nkv, d_model, generator=gen)
            out["x_kv"] = x_kv.to(case.torch_dtype)
        return out

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, heads = inputs["q"], inputs["q"].shape[-3]
        k, v = expand_kv(inputs["k"], heads), expand_kv(inputs["v"], heads)
        s = (q @ k.transpose(-2, -1)) * default_scale(q.shape[-1])
        bias = cosine_bias(
            inputs["x"], self.tau(case), case.causal, s.dtype, key_input(inputs), case.window
        )
        return torch.softmax(s + bias, dim=-1) @ v

    def bytes_moved(self, case: Case) -> int:
        """q, k, v, x (and x_kv) read once, the output written once."""
        e = element_size(case.dtype)
        d_model = case.heads * case.head_dim
        x_rows = case.seq_len + (case.nkv if case.is_cross else 0)
        return qkvo_bytes(case) + e * case.batch * x_rows * d_model


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
            "2BN^2*d_model (C = xh xh_kv^T, once for all heads) + 4BHN^2D (SDPA, full matrix: "
            "an explicit mask skips nothing); N^2 is N*N_kv"
        ),
        gqa=True,
        cross=True,
        window=True,
        alignment="bottom-right (causal/window folded into the float bias)",
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q = inputs["q"]
        x, x_kv = inputs["x"], key_input(inputs)
        bias = cosine_bias(x, self.tau(case), case.causal, q.dtype, x_kv, case.window)
        return sdpa_attention(q, inputs["k"], inputs["v"], False, bias=bias)

    def backend(self, inputs: Inputs, case: Case) -> str:
        q, k, v = inputs["q"], inputs["k"], inputs["v"]
        return "sdpa." + sdpa_backend_choice(q, k, v, False, bias=True)

    def forward_flops(self, case: Case) -> int:
        b, h, n, d = case.batch, case.heads, case.seq_len, case.head_dim
        pairs = n * case.nkv
        return 2 * b * pairs * h * d + 2 * b * h * pairs * (d + case.dv)

    def memory_bytes(self, case: Case) -> int:
        """Output, the fp32 [B, N, N_kv] C and its copy in the input dtype, row statistics."""
        e = element_size(case.dtype)
        b, h, n = case.batch, case.heads, case.seq_len
        return e * b * h * n * case.dv + (4 + e) * b * n * case.nkv + 4 * b * h * n * 2


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
            "2BHN^2Dv (PV) over N*N_kv pairs; causal counts the visible N(N+1)/2 pairs, a "
            "window (explicit mask) the whole rectangle"
        ),
        gqa=True,
        cross=True,
        window=True,
        alignment="is_causal when N = N_kv, causal_lower_right when N < N_kv, explicit "
        "boolean mask with a window",
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k = inputs["q"], inputs["k"]
        qh = unit_rows(inputs["x"]).to(q.dtype).unsqueeze(1).expand(*q.shape[:3], -1)
        kh = unit_rows(key_input(inputs)).to(q.dtype).unsqueeze(1).expand(*k.shape[:3], -1)
        q_aug = torch.cat([q * default_scale(q.shape[-1]), self.tau(case) * qh], dim=-1)
        k_aug = torch.cat([k, kh], dim=-1)
        v = inputs["v"]
        return sdpa_equal_width(q_aug, k_aug, v, case.causal, scale=1.0, window=case.window)

    def backend(self, inputs: Inputs, case: Case) -> str:
        q, k, v = inputs["q"], inputs["k"], inputs["v"]
        return "sdpa." + sdpa_backend_choice(q, k, v, case.causal, case.window)

    def forward_flops(self, case: Case) -> int:
        d_model = case.heads * case.head_dim
        return 2 * case.batch * case.heads * self.pairs(case) * (case.head_dim + d_model + case.dv)

    def memory_bytes(self, case: Case) -> int:
        """Output plus the augmented q' [B, H, N, D + d_model], k' [B, H_kv, N_kv, D + d_model]
        and row statistics."""
        e = element_size(case.dtype)
        b, h, n, d = case.batch, case.heads, case.seq_len, case.head_dim
        width = d + h * d
        augmented = h * n * width + case.hkv * case.nkv * width
        return e * b * (h * n * case.dv + augmented) + 4 * b * h * n * 2
