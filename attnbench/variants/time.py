"""Self-attention with a functional time representation (V7; Xu et al., NeurIPS 2019).

Timestamps t [B, N] (Unix seconds, float64 by default; any float dtype is accepted) feed a Bochner
feature map with m = ``frequencies`` frequencies ω_k = 10^(−a_k) rad/s, a_k = linspace(0, 8, m)
(the official initialisation): Φ(t) = [cos(ω t), sin(ω t)], width 2m, so that
Φ(t_i)·Φ(t_j) = Σ_k cos(ω_k (t_i − t_j)), a translation-invariant kernel.

Phases are computed in float64 from *relative* times t − t_ref (t_ref = each sequence's first
timestamp) and only then cast: raw Unix times (~1.7e9 s) times ω would lose the phase in fp32.

Implementations:

* ``time.concat`` (default) the code form. The official model concatenates [E, Φ(t)] and
  projects; here, at kernel level, the time features are appended unprojected to every head's
  query and key: q' = [q, Φ(t)], k' = [k, Φ(t)], v unchanged, and SDPA runs at head dim
  D' = D + 2m with its standard scale 1/√D'. Scores: (q·k + Σ_k cos(ω_k Δt))/√D'.
* ``time.fused`` the time-kernel bias: S_ij = q·k/√D + Σ_k c_k cos(ω_k (t_i − t_j)) with
  c_k = 1/m (so the bias lies in [−1, 1]), as augmented dims q' = [q/√D, c·cos, c·sin],
  k' = [k, cos, sin] and SDPA with scale 1: no N×N bias.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from attnbench.case import Case
from attnbench.variants._sdpa import sdpa_attention, sdpa_backend_choice
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

T0 = 1.7e9  # seconds: a realistic Unix time
MEAN_GAP_S = 3600.0  # mean spacing of generated events (exponential gaps)
MIN_GAP_S = 1e-3  # the smallest gap between two events: no two share a timestamp
FREQUENCIES = ParamSpec("frequencies", 16, int, "m, number of time frequencies", minimum=1)


def omegas(m: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """ω_k = 10^(−a_k) rad/s, a_k = linspace(0, 8, m), float64 [m]."""
    return 10.0 ** -torch.linspace(0.0, 8.0, m, dtype=torch.float64, device=device)


def time_features(t: torch.Tensor, m: int, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    """cos(ω t_rel), sin(ω t_rel) [B, 1, N, m] in ``dtype``, t_rel = t − t[:, :1] in float64."""
    rel = t.double() - t[..., :1].double()
    phase = rel[:, None, :, None] * omegas(m, t.device)
    return phase.cos().to(dtype), phase.sin().to(dtype)


def time_kernel(t: torch.Tensor, m: int) -> torch.Tensor:
    """Σ_k cos(ω_k (t_i − t_j)) [B, 1, N, N] in float64, straight from the pairwise Δt."""
    dt = t.double()[:, :, None] - t.double()[:, None, :]
    return torch.cos(dt[..., None] * omegas(m, t.device)).sum(dim=-1).unsqueeze(1)


def sdpa_equal_width(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool,
    scale: float | None = None,
    window: int | None = None,
) -> torch.Tensor:
    """SDPA with q/k and v zero-padded to one head width, then the output sliced to Dv.

    torch's CPU flash kernel only runs when q, k and v share a head dim; otherwise SDPA
    silently falls back to the materialising math backend. Zero columns change nothing: a zero
    q/k column adds 0 to every score, a zero v column gives a zero output column. The padding
    work is not counted in the FLOP models (it is an artefact of the backend).

    Args:
        q: [B, H, N, Dq]; k: [B, H_kv, N_kv, Dq]; v: [B, H_kv, N_kv, Dv] (GQA shared).
        scale: score scale; default 1/√Dq of the *unpadded* width.
        causal, window: masks as :func:`~attnbench.variants.softmax.sdpa_attention` applies
            them (bottom-right).
    """
    dq, dv = q.shape[-1], v.shape[-1]
    scale = default_scale(dq) if scale is None else scale
    if dq < dv:
        q, k = F.pad(q, (0, dv - dq)), F.pad(k, (0, dv - dq))
    elif dv < dq:
        v = F.pad(v, (0, dq - dv))
    out = sdpa_attention(q, k, v, causal, window, scale=scale)
    return out[..., :dv]


def _softmax_ref(s: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    if causal:
        s = s.masked_fill(~causal_mask(s.shape[-2], s.shape[-1], s.device), float("-inf"))
    return torch.softmax(s, dim=-1) @ v


class _Time(Variant):
    """Timestamps, cost and byte models shared by both forms (same GEMM widths)."""

    def m(self, case: Case) -> int:
        return int(self.param(case, "frequencies"))

    def extra_inputs(self, case: Case, gen: torch.Generator) -> Inputs:
        """``t`` [B, N] float64 Unix seconds: 1.7e9 s plus cumulative gaps of 1 ms plus an
        exponential (mean 1 h), strictly increasing.

        float64 keeps the spacing real: at 1.7e9 s its resolution is 2.4e-7 s, while float32
        would round every timestamp to a multiple of 128 s and make close events equal.
        """
        u = torch.rand(case.batch, case.seq_len, generator=gen, dtype=torch.float64)
        gaps = MIN_GAP_S - MEAN_GAP_S * torch.log1p(-u)
        return {"t": T0 + gaps.cumsum(dim=-1)}

    def forward_flops(self, case: Case) -> int:
        pairs = score_pairs(case, self.info.skips_masked)
        qk_width = case.head_dim + 2 * self.m(case)
        return 2 * case.batch * case.heads * pairs * (qk_width + case.dv)

    def exp_count(self, case: Case) -> int:
        """One exp per computed score plus 2BNm sin/cos for the features."""
        return super().exp_count(case) + 2 * case.batch * case.seq_len * self.m(case)

    def bytes_moved(self, case: Case) -> int:
        """q, k, v read once, t (float64) read once, the output written once."""
        e = element_size(case.dtype)
        b, h, n = case.batch, case.heads, case.seq_len
        return e * b * h * n * (2 * case.head_dim + 2 * case.dv) + 8 * b * n

    def memory_bytes(self, case: Case) -> int:
        """Output, augmented q' and k' ([B, H, N, D + 2m] each), row statistics."""
        e = element_size(case.dtype)
        b, h, n = case.batch, case.heads, case.seq_len
        width = case.head_dim + 2 * self.m(case)
        return e * b * h * n * (case.dv + 2 * width) + 4 * b * h * n * 2

    def backend(self, inputs: Inputs, case: Case) -> str:
        """SDPA's choice for the padded equal-width call this variant makes."""
        q = inputs["q"]
        width = max(q.shape[-1] + 2 * self.m(case), inputs["v"].shape[-1])
        padded = q.new_empty((*q.shape[:-1], width))
        return "sdpa." + sdpa_backend_choice(padded, padded, padded, case.causal)


def _expand(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return x.expand(like.shape[0], like.shape[1], like.shape[2], x.shape[-1])


@register(default=True)
class TimeConcat(_Time):
    """SDPA on q' = [q, Φ(t)], k' = [k, Φ(t)] at head dim D + 2m, scale 1/√(D + 2m)."""

    info = VariantInfo(
        name="time.concat",
        summary="SDPA on [q, Phi(t)].[k, Phi(t)] (time features appended, head dim D+2m)",
        memory_complexity="O(N)",
        extra_inputs=("t",),
        skips_masked=True,
        params=(FREQUENCIES,),
        flops_model=(
            "2BHN^2(D+2m) (QK^T over [q, Phi]) + 2BHN^2Dv (PV); causal counts N(N+1)/2 pairs"
        ),
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k = inputs["q"], inputs["k"]
        cos, sin = time_features(inputs["t"], self.m(case), q.dtype)
        phi = _expand(torch.cat([cos, sin], dim=-1), q)
        q_aug, k_aug = torch.cat([q, phi], dim=-1), torch.cat([k, phi], dim=-1)
        return sdpa_equal_width(q_aug, k_aug, inputs["v"], case.causal)

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k, m = inputs["q"], inputs["k"], self.m(case)
        s = (q @ k.transpose(-2, -1) + time_kernel(inputs["t"], m)) / math.sqrt(q.shape[-1] + 2 * m)
        return _softmax_ref(s, inputs["v"], case.causal)


@register
class TimeFused(_Time):
    """S = q·k/√D + Σ_k cos(ω_k Δt)/m via augmented dims [q/√D, c·cos, c·sin], SDPA scale 1."""

    info = VariantInfo(
        name="time.fused",
        summary="q.k/sqrt(D) + (1/m) sum_k cos(w_k (t_i - t_j)) as augmented dims D+2m",
        memory_complexity="O(N)",
        extra_inputs=("t",),
        skips_masked=True,
        params=(FREQUENCIES,),
        flops_model=(
            "4BHN^2D + 4BHN^2m: 2BHN^2(D+2m) (QK^T) + 2BHN^2Dv (PV); causal counts N(N+1)/2 pairs"
        ),
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k, m = inputs["q"], inputs["k"], self.m(case)
        cos, sin = time_features(inputs["t"], m, q.dtype)
        keys = _expand(torch.cat([cos, sin], dim=-1), q)
        q_aug = torch.cat([q * default_scale(q.shape[-1]), keys * (1.0 / m)], dim=-1)
        k_aug = torch.cat([k, keys], dim=-1)
        return sdpa_equal_width(q_aug, k_aug, inputs["v"], case.causal, scale=1.0)

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k, m = inputs["q"], inputs["k"], self.m(case)
        s = q @ k.transpose(-2, -1) * default_scale(q.shape[-1])
        s = s + time_kernel(inputs["t"], m) / m
        return _softmax_ref(s, inputs["v"], case.causal)
