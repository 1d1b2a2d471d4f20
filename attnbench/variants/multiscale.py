"""Multi-scale semantic processing (V12): attention at several widths, fused per token.

The blog projects X [B, N, 384] to widths s ∈ {64, 128, 256, 384}, runs a TransformerBlock
at each width and fuses concat_s(Y_s) [B, N, 832] back to 384 with a Linear. The block is
undefined in the blog; ``multiscale.blocks`` keeps its attention and leaves out the LN and
FFN (they are per-token work, not attention):

    [Q_s, K_s, V_s] = X A_sᵀ + a_s              one Linear d_model -> 3s per scale
    Y_s  = SDPA over s/D heads of head dim D     causal when the case is
    O    = concat_s(Y_s) Fᵀ + f                  fusion Linear Σs -> H·Dv

Mapping onto a Case: the layer input is ``x`` [B, N, d_model] with d_model = H·D (q, k, v of
the Case are made but not used); every scale uses the Case's head dim D (64 in the blog
assumption); the output [B, N, H·Dv] is viewed as [B, H, N, Dv]. The per-scale projections
are stacked into one weight ``w_in`` [3Σs, d_model] (``b_in`` [3Σs]) so one GEMM feeds all
scales; ``w_out`` [H·Dv, Σs], ``b_out`` [H·Dv] is the fusion. Weights are in the case dtype.

``scales`` (a list of widths, each a multiple of D) defaults to the blog's [64, 128, 256, 384]
when d_model >= 384. For a narrower model each default width is scaled by d_model/384 and
rounded to a multiple of D (at least D): e.g. H = 2, D = 32 gives [32, 32, 32, 64].

FLOPs: attention 4·B·pairs·Σs (= 4BN²Σs, 3328BN² at the defaults), projections
2·B·N·d_model·3Σs, fusion 2·B·N·Σs·H·Dv.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from attnbench.case import Case
from attnbench.variants.base import (
    Inputs,
    ParamSpec,
    Variant,
    VariantInfo,
    element_size,
    naive_softmax_attention,
    score_pairs,
)
from attnbench.variants.registry import register
from attnbench.variants.softmax import sdpa_label

BLOG_SCALES = (64, 128, 256, 384)
BLOG_WIDTH = 384
SCALES = ParamSpec(
    "scales",
    list(BLOG_SCALES),
    list,
    "widths of the scales, each a multiple of head_dim (default scaled down below 384 wide)",
)


def default_scales(d_model: int, head_dim: int) -> list[int]:
    """The blog's widths, scaled by d_model/384 when smaller and rounded to multiples of D."""
    f = min(1.0, d_model / BLOG_WIDTH)
    return [head_dim * max(1, round(s * f / head_dim)) for s in BLOG_SCALES]


def split_scales(
    proj: torch.Tensor, scales: Sequence[int], head_dim: int
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """[B, N, 3Σs] -> per scale (q, k, v), each [B, s/D, N, D]."""
    b, n, _ = proj.shape
    out = []
    start = 0
    for s in scales:
        qkv = proj[..., start : start + 3 * s].view(b, n, 3, s // head_dim, head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out.append((q, k, v))
        start += 3 * s
    return out


def merge_heads(y: torch.Tensor) -> torch.Tensor:
    """[B, h, N, D] -> [B, N, h·D]."""
    b, h, n, d = y.shape
    return y.transpose(1, 2).reshape(b, n, h * d)


def attend_looped(
    proj: torch.Tensor, scales: Sequence[int], head_dim: int, causal: bool
) -> torch.Tensor:
    """One SDPA call per scale (the architecture as written): [B, N, Σs]."""
    parts = split_scales(proj, scales, head_dim)
    ys = [F.scaled_dot_product_attention(q, k, v, is_causal=causal) for q, k, v in parts]
    return torch.cat([merge_heads(y) for y in ys], dim=-1)


def attend_batched(
    proj: torch.Tensor, scales: Sequence[int], head_dim: int, causal: bool
) -> torch.Tensor:
    """One SDPA call over all Σs/D heads (heads are independent): equals :func:`attend_looped`."""
    parts = split_scales(proj, scales, head_dim)
    q, k, v = (torch.cat([p[i] for p in parts], dim=1) for i in range(3))
    return merge_heads(F.scaled_dot_product_attention(q, k, v, is_causal=causal))


def multiscale_forward(
    x: torch.Tensor,
    w_in: torch.Tensor,
    b_in: torch.Tensor,
    w_out: torch.Tensor,
    b_out: torch.Tensor,
    scales: Sequence[int],
    head_dim: int,
    heads: int,
    causal: bool,
) -> torch.Tensor:
    """The whole kernel: projections, per-scale SDPA, fusion; returns [B, H, N, Dv]."""
    proj = F.linear(x, w_in, b_in)
    fused = F.linear(attend_looped(proj, scales, head_dim, causal), w_out, b_out)
    b, n, width = fused.shape
    return fused.view(b, n, heads, width // heads).transpose(1, 2)


@register(default=True)
class MultiscaleBlocks(Variant):
    """Per-scale projections, per-scale multi-head attention, fusion Linear."""

    info = VariantInfo(
        name="multiscale.blocks",
        summary="multi-scale attention: per-width QKV, SDPA per scale (head dim D), fusion",
        memory_complexity="O(N)",
        extra_inputs=("x", "w_in", "b_in", "w_out", "b_out"),
        causal=True,
        skips_masked=True,
        params=(SCALES,),
        flops_model=(
            "4BN^2*sum(s) (attention; causal counts N(N+1)/2 pairs) + 6BN*HD*sum(s) (QKV) "
            "+ 2BN*sum(s)*HDv (fusion)"
        ),
        grad_inputs=("x",),
    )

    def scales(self, case: Case) -> list[int]:
        """The widths this case uses (the parameter, or the defaults scaled to H·D)."""
        if "scales" in case.params:
            return [int(s) for s in case.params["scales"]]
        return default_scales(case.heads * case.head_dim, case.head_dim)

    def unsupported(self, case: Case, device: str | None = None) -> str | None:
        why = super().unsupported(case, device)
        if why or "scales" not in case.params:
            return why
        scales = case.params["scales"]
        bad = [s for s in scales if isinstance(s, bool) or not isinstance(s, int) or s < 1]
        if not scales or bad:
            return f"scales must be a non-empty list of positive integers, got {scales!r}"
        odd = [s for s in scales if s % case.head_dim]
        if odd:
            return f"every scale must be a multiple of head_dim {case.head_dim}; {odd} are not"
        return None

    def extra_inputs(self, case: Case, gen: torch.Generator) -> Inputs:
        d_model, total = case.heads * case.head_dim, sum(self.scales(case))
        out_width = case.heads * case.dv

        def uniform(fan_in: int, *shape: int) -> torch.Tensor:
            return (torch.rand(*shape, generator=gen) * 2 - 1) / math.sqrt(fan_in)

        tensors = {
            "x": torch.randn(case.batch, case.seq_len, d_model, generator=gen),
            "w_in": uniform(d_model, 3 * total, d_model) * math.sqrt(3.0),
            "b_in": uniform(d_model, 3 * total),
            "w_out": uniform(total, out_width, total) * math.sqrt(3.0),
            "b_out": uniform(total, out_width),
        }
        return {key: t.to(case.torch_dtype) for key, t in tensors.items()}

    def backend(self, inputs: Inputs, case: Case) -> str:
        """SDPA's choice for one scale's call: [B, heads, N, D] in the input dtype."""
        like = inputs["x"].new_empty(case.batch, 1, case.seq_len, case.head_dim)
        return sdpa_label(like, like, like, case.causal)

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return multiscale_forward(
            inputs["x"],
            inputs["w_in"],
            inputs["b_in"],
            inputs["w_out"],
            inputs["b_out"],
            self.scales(case),
            case.head_dim,
            case.heads,
            case.causal,
        )

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        """Explicit per-scale loop with materialised softmax, in the inputs' dtype."""
        x, d = inputs["x"], case.head_dim
        proj = x @ inputs["w_in"].T + inputs["b_in"]
        ys = [
            merge_heads(naive_softmax_attention(q, k, v, case.causal))
            for q, k, v in split_scales(proj, self.scales(case), d)
        ]
        fused = torch.cat(ys, dim=-1) @ inputs["w_out"].T + inputs["b_out"]
        b, n, _ = fused.shape
        return fused.view(b, n, case.heads, case.dv).transpose(1, 2)

    def forward_flops(self, case: Case) -> int:
        b, n, total = case.batch, case.seq_len, sum(self.scales(case))
        attention = 4 * b * score_pairs(case, self.info.skips_masked) * total
        qkv = 2 * b * n * case.heads * case.head_dim * 3 * total
        fusion = 2 * b * n * total * case.heads * case.dv
        return attention + qkv + fusion

    def exp_count(self, case: Case) -> int:
        """Σ_s (s/D)·B·pairs: one exp per visible score of every head of every scale."""
        heads = sum(s // case.head_dim for s in self.scales(case))
        return heads * case.batch * score_pairs(case, self.info.skips_masked)

    def bytes_moved(self, case: Case) -> int:
        """Read x and the weights once, write the output once."""
        el = element_size(case.dtype)
        b, n, total = case.batch, case.seq_len, sum(self.scales(case))
        d_model, out_width = case.heads * case.head_dim, case.heads * case.dv
        weights = 3 * total * (d_model + 1) + out_width * (total + 1)
        return el * (b * n * d_model + weights + b * n * out_width)

    def memory_bytes(self, case: Case) -> int:
        """Projections [B, N, 3Σs], per-scale outputs and concat [2·B·N·Σs], fused output."""
        el = element_size(case.dtype)
        b, n, total = case.batch, case.seq_len, sum(self.scales(case))
        rows = 4 * b * n * sum(s // case.head_dim for s in self.scales(case)) * 2
        return el * b * n * (5 * total + case.heads * case.dv) + rows
