"""Continuous positional encoding (V11) in front of softmax attention.

The blog's CPE is a per-token MLP of a float position, PE = W2·GELU(W1·p + b1) + b2 with
W1 [64, 1] and W2 [d_model, 64] (encoding_dim = 64), added to the token embeddings. It is not
an attention kernel on its own, so ``cpe.mlp`` benchmarks it where it acts, in front of an
attention call (the choice made here, since the blog leaves the wiring open):

    PE   = W2 GELU(W1 p + b1) + b2          [B, N, H·D], computed in fp32
    PE_h = PE viewed as [B, N, H, D] -> [B, H, N, D]
    O    = SDPA(q + PE_h, k + PE_h, v)      causal when the case is

so the positional signal reaches the scores, as an additive embedding would after a
projection that is the identity. The values are not shifted. ``p`` [B, N] are float
positions normalised to [0, 1] (sorted uniform draws, fp32).

Extra inputs: ``p`` [B, N]; ``w1`` [64, 1], ``b1`` [64], ``w2`` [H·D, 64], ``b2`` [H·D]
(fp32, ``nn.Linear``-style uniform initialisation).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from attnbench.case import Case
from attnbench.variants.base import (
    Inputs,
    Variant,
    VariantInfo,
    element_size,
    naive_softmax_attention,
    score_pairs,
    sdpa_flops,
)
from attnbench.variants.registry import register
from attnbench.variants.softmax import sdpa_label

ENCODING_DIM = 64


def positional_encoding(
    p: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor, b2: torch.Tensor
) -> torch.Tensor:
    """PE = W2·GELU(W1·p + b1) + b2 in fp32 (float64 for float64 inputs): [B, N, d_model].

    Args:
        p: positions [B, N]. w1: [E, 1]; b1: [E]; w2: [d_model, E]; b2: [d_model].
    """
    work = torch.float64 if p.dtype == torch.float64 else torch.float32
    hidden = F.gelu(F.linear(p.to(work).unsqueeze(-1), w1.to(work), b1.to(work)))
    return F.linear(hidden, w2.to(work), b2.to(work))


def per_head(pe: torch.Tensor, heads: int) -> torch.Tensor:
    """[B, N, H·D] -> [B, H, N, D]."""
    b, n, width = pe.shape
    return pe.view(b, n, heads, width // heads).transpose(1, 2)


def _uniform(gen: torch.Generator, fan_in: int, *shape: int) -> torch.Tensor:
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(*shape, generator=gen) * 2 - 1) * bound


@register(default=True)
class CpeMlp(Variant):
    """MLP positional encoding of float positions added to q and k, then SDPA."""

    info = VariantInfo(
        name="cpe.mlp",
        summary="continuous positional encoding MLP(p) added to q and k, then SDPA",
        memory_complexity="O(N)",
        extra_inputs=("p", "w1", "b1", "w2", "b2"),
        causal=True,
        skips_masked=True,
        flops_model=("2BN(64 + 64 HD) (the MLP) + 4BHN^2D (SDPA; causal counts N(N+1)/2 pairs)"),
    )

    def extra_inputs(self, case: Case, gen: torch.Generator) -> Inputs:
        width = case.heads * case.head_dim
        p, _ = torch.sort(torch.rand(case.batch, case.seq_len, generator=gen), dim=-1)
        return {
            "p": p,
            "w1": _uniform(gen, 1, ENCODING_DIM, 1),
            "b1": _uniform(gen, 1, ENCODING_DIM),
            "w2": _uniform(gen, ENCODING_DIM, width, ENCODING_DIM),
            "b2": _uniform(gen, ENCODING_DIM, width),
        }

    def _encoded(self, inputs: Inputs, case: Case) -> tuple[torch.Tensor, torch.Tensor]:
        q = inputs["q"]
        pe = positional_encoding(
            inputs["p"], inputs["w1"], inputs["b1"], inputs["w2"], inputs["b2"]
        )
        pe_h = per_head(pe, case.heads).to(q.dtype)
        return q + pe_h, inputs["k"] + pe_h

    def backend(self, inputs: Inputs, case: Case) -> str:
        return sdpa_label(inputs["q"], inputs["k"], inputs["v"], case.causal)

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k = self._encoded(inputs, case)
        return F.scaled_dot_product_attention(q, k, inputs["v"], is_causal=case.causal)

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k = self._encoded(inputs, case)
        return naive_softmax_attention(q, k, inputs["v"], case.causal)

    def forward_flops(self, case: Case) -> int:
        mlp = 2 * case.batch * case.seq_len * ENCODING_DIM * (1 + case.heads * case.head_dim)
        return mlp + sdpa_flops(case, self.info.skips_masked)

    def exp_count(self, case: Case) -> int:
        """B·H·(visible pairs) softmax exps + 64·B·N GELU (erf) evaluations."""
        attention = case.batch * case.heads * score_pairs(case, self.info.skips_masked)
        return attention + ENCODING_DIM * case.batch * case.seq_len

    def bytes_moved(self, case: Case) -> int:
        """q, k, v and the output, plus p and the fp32 MLP weights."""
        width = case.heads * case.head_dim
        weights = 4 * (2 * ENCODING_DIM + ENCODING_DIM * width + width)
        return super().bytes_moved(case) + 4 * case.batch * case.seq_len + weights

    def memory_bytes(self, case: Case) -> int:
        """fp32 hidden [B, N, 64] and PE [B, N, HD], shifted q and k, the output, row stats."""
        b, n, width = case.batch, case.seq_len, case.heads * case.head_dim
        el = element_size(case.dtype)
        mlp = 4 * b * n * (ENCODING_DIM + width)
        return mlp + el * b * n * (3 * width) + super().memory_bytes(case)
