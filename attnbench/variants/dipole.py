"""Dipole attention (V3, V4; Ethan Smith, ethansmith2000/DipoleAttention): two value tensors.

Implementations:

* ``dipole.v1`` (V3, default) exp(|s|) kernel with sign routing. A = softmax(|S| + mask) with
  the row max of |s| as the shift (the author's constant offset c cancels), then
  O = (A ⊙ [S > 0]) V + (A ⊙ [S <= 0]) V2. Masked entries are set to −inf *after* |.|, so
  they get exactly zero weight in both branches. Computed in one streaming pass as
  O = A (V + V2)/2 + (sign(S) ⊙ A)(V − V2)/2, which is the same sum (the shared Cog block
  engine, two PV products): 6BHN²D, O(N) memory.
* ``dipole.v2`` (V4) O = α softmax(S) V + β softmax(−S) V2, as two SDPA calls,
  SDPA(Q, K, V) and SDPA(−Q, K, V2): negating Q negates S, and SDPA shifts by the row max of
  −S (the row min of S), so softmax(−S) is computed directly, never as the reference code's
  reciprocal 1/(P+ + eps). α and β are scalar parameters shared by all heads.

The extra input ``v2`` [B, H, N, Dv] is the 4th value projection.
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
from attnbench.variants.cog import (
    SIGNED_BLOCK_PARAMS,
    compute,
    signed_memory_bytes,
    signed_streaming,
)
from attnbench.variants.registry import register
from attnbench.variants.softmax import sdpa_label

NEG_INF = float("-inf")


class _Dipole(Variant):
    """Extra input v2 and the byte model shared by both versions."""

    def extra_inputs(self, case: Case, gen: torch.Generator) -> Inputs:
        """``v2`` [B, H, N, Dv] ~ N(0, 1) in the case dtype."""
        shape = (case.batch, case.heads, case.seq_len, case.dv)
        return {"v2": torch.randn(shape, generator=gen).to(case.torch_dtype)}

    def bytes_moved(self, case: Case) -> int:
        """q, k, v, v2 read once and the output written once."""
        e = element_size(case.dtype)
        b, h, n = case.batch, case.heads, case.seq_len
        return e * b * h * n * (2 * case.head_dim + 3 * case.dv)


def dipole_v1_reference(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, v2: torch.Tensor, causal: bool
) -> torch.Tensor:
    """(A ⊙ [S > 0]) V + (A ⊙ [S <= 0]) V2 with A = softmax(|S|, masked −inf after |.|)."""
    s = (q @ k.transpose(-2, -1)) * default_scale(q.shape[-1])
    a = s.abs()
    if causal:
        a = a.masked_fill(~causal_mask(q.shape[-2], k.shape[-2], q.device), NEG_INF)
    a = torch.softmax(a, dim=-1)
    positive = s > 0
    return (a * positive) @ v + (a * ~positive) @ v2


@register(default=True)
class DipoleV1(_Dipole):
    """exp(|s|) kernel with sign routing to v (s > 0) and v2 (s <= 0), streaming."""

    info = VariantInfo(
        name="dipole.v1",
        summary="softmax(|S|) weights routed by sign(S) to v and v2, one streaming pass",
        memory_complexity="O(N)",
        extra_inputs=("v2",),
        skips_masked=True,
        params=SIGNED_BLOCK_PARAMS,
        grad_inputs=("q", "k", "v", "v2"),
        flops_model=(
            "6BHN^2D: 2BHN^2D (QK^T) + 2x2BHN^2Dv (two PV products); "
            "causal counts N(N+1)/2 pairs (blocks past the diagonal skipped)"
        ),
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        v, v2 = compute(inputs["v"]), compute(inputs["v2"])
        out = signed_streaming(
            inputs["q"],
            inputs["k"],
            (v - v2) * 0.5,
            case.causal,
            int(self.param(case, "block_q")),
            int(self.param(case, "block_k")),
            plain=(v + v2) * 0.5,
        )
        return out.to(inputs["q"].dtype)

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return dipole_v1_reference(inputs["q"], inputs["k"], inputs["v"], inputs["v2"], case.causal)

    def forward_flops(self, case: Case) -> int:
        pairs = score_pairs(case, self.info.skips_masked)
        return 2 * case.batch * case.heads * pairs * (case.head_dim + 2 * case.dv)

    def memory_bytes(self, case: Case) -> int:
        bq, bk = int(self.param(case, "block_q")), int(self.param(case, "block_k"))
        halves = 4 * 2 * case.batch * case.heads * case.seq_len * case.dv  # (v ± v2)/2 in fp32
        return signed_memory_bytes(case, bq, bk, values=2) + halves


def dipole_v2_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    v2: torch.Tensor,
    causal: bool,
    alpha: float,
    beta: float,
) -> torch.Tensor:
    """α softmax(S) V + β softmax(−S) V2, both masked, materialised."""
    s = (q @ k.transpose(-2, -1)) * default_scale(q.shape[-1])
    neg = -s
    if causal:
        hidden = ~causal_mask(q.shape[-2], k.shape[-2], q.device)
        s, neg = s.masked_fill(hidden, NEG_INF), neg.masked_fill(hidden, NEG_INF)
    return alpha * (torch.softmax(s, dim=-1) @ v) + beta * (torch.softmax(neg, dim=-1) @ v2)


@register
class DipoleV2(_Dipole):
    """α SDPA(Q, K, V) + β SDPA(−Q, K, V2): two flash-able calls, 8BHN²D."""

    info = VariantInfo(
        name="dipole.v2",
        summary="alpha*softmax(S)V + beta*softmax(-S)V2 as two SDPA calls",
        memory_complexity="O(N)",
        extra_inputs=("v2",),
        skips_masked=True,
        params=(
            ParamSpec("alpha", 1.0, float, "weight of the softmax(S) V branch (all heads)"),
            ParamSpec("beta", 1.0, float, "weight of the softmax(-S) V2 branch (all heads)"),
        ),
        grad_inputs=("q", "k", "v", "v2"),
        flops_model=(
            "8BHN^2D: two SDPA calls, each 2BHN^2D (QK^T) + 2BHN^2Dv (PV); causal counts "
            "N(N+1)/2 pairs"
        ),
    )

    def backend(self, inputs: Inputs, case: Case) -> str:
        """The backend of each of the two SDPA calls (same shapes, so the same choice)."""
        return sdpa_label(inputs["q"], inputs["k"], inputs["v"], case.causal)

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k = inputs["q"], inputs["k"]
        alpha, beta = float(self.param(case, "alpha")), float(self.param(case, "beta"))
        pos = F.scaled_dot_product_attention(q, k, inputs["v"], is_causal=case.causal)
        neg = F.scaled_dot_product_attention(-q, k, inputs["v2"], is_causal=case.causal)
        return alpha * pos + beta * neg

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        alpha, beta = float(self.param(case, "alpha")), float(self.param(case, "beta"))
        q, k = inputs["q"], inputs["k"]
        return dipole_v2_reference(q, k, inputs["v"], inputs["v2"], case.causal, alpha, beta)

    def forward_flops(self, case: Case) -> int:
        pairs = score_pairs(case, self.info.skips_masked)
        return 2 * 2 * case.batch * case.heads * pairs * (case.head_dim + case.dv)

    def exp_count(self, case: Case) -> int:
        """Two exponentials per visible score, one per softmax."""
        return 2 * case.batch * case.heads * score_pairs(case, self.info.skips_masked)

    def tolerance(self, dtype: str) -> tuple[float, float]:
        """Twice the single-softmax tolerance: the output sums two rounded branches."""
        atol, rtol = super().tolerance(dtype)
        return 2 * atol, 2 * rtol


__all__ = ["DipoleV1", "DipoleV2", "dipole_v1_reference", "dipole_v2_reference"]
