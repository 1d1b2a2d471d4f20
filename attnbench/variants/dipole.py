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

The extra input ``v2`` [B, H_kv, N_kv, Dv] is the 4th value projection (shaped like v).

Shapes: both versions run GQA, cross-attention and decoding, aligned bottom-right; v1 (the
Cog block engine: grouped query heads, key span per block) honours a window by skipping the
blocks outside it; v2 calls SDPA through :func:`~attnbench.variants.softmax.sdpa_attention`
(``enable_gqa``, ``causal_lower_right`` when N < N_kv, an explicit mask for a window, whose
FLOPs then count the whole N×N_kv rectangle).
"""

from __future__ import annotations

import torch

from attnbench.case import Case
from attnbench.variants._masks import expand_kv, visible_mask
from attnbench.variants._sdpa import sdpa_attention, sdpa_label
from attnbench.variants.base import (
    Inputs,
    ParamSpec,
    Variant,
    VariantInfo,
    default_scale,
    qkvo_bytes,
)
from attnbench.variants.cog import (
    SIGNED_BLOCK_PARAMS,
    compute,
    signed_memory_bytes,
    signed_streaming,
)
from attnbench.variants.registry import register

NEG_INF = float("-inf")


class _Dipole(Variant):
    """Extra input v2 and the byte model shared by both versions."""

    def extra_inputs(self, case: Case, gen: torch.Generator) -> Inputs:
        """``v2`` [B, H_kv, N_kv, Dv] ~ N(0, 1) in the case dtype."""
        shape = (case.batch, case.hkv, case.nkv, case.dv)
        return {"v2": torch.randn(shape, generator=gen).to(case.torch_dtype)}

    def bytes_moved(self, case: Case) -> int:
        """q, k, v, v2 read once and the output written once (k, v, v2 at H_kv × N_kv)."""
        return qkvo_bytes(case, self.info.skips_masked and self.info.skips_window, values=2)


def dipole_v1_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    v2: torch.Tensor,
    causal: bool,
    window: int | None = None,
) -> torch.Tensor:
    """(A ⊙ [S > 0]) V + (A ⊙ [S <= 0]) V2 with A = softmax(|S|, masked −inf after |.|).

    k, v, v2 may have H_kv heads (expanded here) and N_kv keys (mask aligned bottom-right).
    """
    heads = q.shape[-3]
    k, v, v2 = expand_kv(k, heads), expand_kv(v, heads), expand_kv(v2, heads)
    s = (q @ k.transpose(-2, -1)) * default_scale(q.shape[-1])
    a = s.abs()
    keep = visible_mask(q.shape[-2], k.shape[-2], causal, window, q.device)
    if keep is not None:
        a = a.masked_fill(~keep, NEG_INF)
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
            "6BHN^2D: 2BHN^2D (QK^T) + 2x2BHN^2Dv (two PV products) over N*N_kv pairs; "
            "causal/window count the visible pairs (blocks past the diagonal or outside the "
            "window skipped)"
        ),
        gqa=True,
        cross=True,
        window=True,
        skips_window=True,
        alignment="bottom-right (Cog block engine: key span per query block)",
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
            window=case.window,
        )
        return out.to(inputs["q"].dtype)

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k, v, v2 = inputs["q"], inputs["k"], inputs["v"], inputs["v2"]
        return dipole_v1_reference(q, k, v, v2, case.causal, case.window)

    def forward_flops(self, case: Case) -> int:
        return 2 * case.batch * case.heads * self.pairs(case) * (case.head_dim + 2 * case.dv)

    def memory_bytes(self, case: Case) -> int:
        bq, bk = int(self.param(case, "block_q")), int(self.param(case, "block_k"))
        halves = 4 * 2 * case.batch * case.hkv * case.nkv * case.dv  # (v ± v2)/2 in fp32
        return signed_memory_bytes(case, bq, bk, values=2) + halves


def dipole_v2_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    v2: torch.Tensor,
    causal: bool,
    alpha: float,
    beta: float,
    window: int | None = None,
) -> torch.Tensor:
    """α softmax(S) V + β softmax(−S) V2, both masked (bottom-right), materialised."""
    heads = q.shape[-3]
    k, v, v2 = expand_kv(k, heads), expand_kv(v, heads), expand_kv(v2, heads)
    s = (q @ k.transpose(-2, -1)) * default_scale(q.shape[-1])
    neg = -s
    keep = visible_mask(q.shape[-2], k.shape[-2], causal, window, q.device)
    if keep is not None:
        s, neg = s.masked_fill(~keep, NEG_INF), neg.masked_fill(~keep, NEG_INF)
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
            "8BHN^2D: two SDPA calls, each 2BHN^2D (QK^T) + 2BHN^2Dv (PV) over N*N_kv pairs; "
            "causal counts the visible N(N+1)/2 pairs"
        ),
        gqa=True,
        cross=True,
        window=True,
        alignment="is_causal when N = N_kv, causal_lower_right when N < N_kv, explicit "
        "boolean mask with a window",
    )

    def backend(self, inputs: Inputs, case: Case) -> str:
        """The backend of each of the two SDPA calls (same shapes, so the same choice)."""
        return sdpa_label(inputs["q"], inputs["k"], inputs["v"], case.causal, case.window)

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k = inputs["q"], inputs["k"]
        alpha, beta = float(self.param(case, "alpha")), float(self.param(case, "beta"))
        pos = sdpa_attention(q, k, inputs["v"], case.causal, case.window)
        neg = sdpa_attention(-q, k, inputs["v2"], case.causal, case.window)
        return alpha * pos + beta * neg

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        alpha, beta = float(self.param(case, "alpha")), float(self.param(case, "beta"))
        q, k = inputs["q"], inputs["k"]
        v, v2 = inputs["v"], inputs["v2"]
        return dipole_v2_reference(q, k, v, v2, case.causal, alpha, beta, case.window)

    def forward_flops(self, case: Case) -> int:
        return 2 * 2 * case.batch * case.heads * self.pairs(case) * (case.head_dim + case.dv)

    def exp_count(self, case: Case) -> int:
        """Two exponentials per visible score, one per softmax."""
        return 2 * case.batch * case.heads * self.pairs(case)

    def tolerance(self, dtype: str) -> tuple[float, float]:
        """Twice the single-softmax tolerance: the output sums two rounded branches."""
        atol, rtol = super().tolerance(dtype)
        return 2 * atol, 2 * rtol


__all__ = ["DipoleV1", "DipoleV2", "dipole_v1_reference", "dipole_v2_reference"]
