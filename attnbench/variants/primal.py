"""Primal-Attention (V6): self-attention through asymmetric kernel SVD in primal form.

Chen et al., NeurIPS 2023 (code: yingyichen-cyy/PrimalAttention). There is no value
projection and no N×N kernel matrix: every query and key is projected onto ``s`` (``rank``)
directions and the two projections are mixed by a small linear layer. Time and memory are
O(N).

Implementations:

* ``primal.landmark`` (default) the non-causal form of the LRA / CV code. The projection
  weights are data-dependent: W_e,h = X~_h W~_E,h with X~_h [D, M] the h-th block of D channels
  of the raw layer input ``x`` at M evenly spaced landmark tokens.
* ``primal.causal``  the causal form of the fairseq / decision-transformer code: prefix means
  of q and k taken before the feature map, data-independent W_e, W_r [H, D, s].

Shapes and the output contract. The reference layer returns Y = [e, r] W_cᵀ + b_c with W_c
[D, 2s] shared across heads, so each head's output is D wide. Here W_c is [Dv, 2s]: the
output is [B, H, N, Dv] for any D_v and equals the reference layer when D_v = D (the default).
``v`` is made by ``make_inputs`` like for every variant but is **not used**.

Extra inputs (design §3.4 keys plus named weights; learned tensors are fp32, as the
reference runs this block in fp32):

* ``x``   raw layer input [B, N, H·D] in the case dtype (``primal.landmark`` only).
* ``w_e``, ``w_r``  W~_E, W~_R [H, M, s] (landmark) or W_e, W_r [H, D, s] (causal), orthogonal.
* ``w_c`` [Dv, 2s] and ``b_c`` [Dv], uniform ±1/√(2s) like ``nn.Linear``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from attnbench.case import Case
from attnbench.variants.base import Inputs, ParamSpec, Variant, VariantInfo, element_size
from attnbench.variants.registry import register

RANK = ParamSpec("rank", 20, int, "s, projection directions per head", minimum=1)
LANDMARKS = ParamSpec("landmarks", 200, int, "M, landmark tokens (M = N when N <= M)", minimum=1)


def phi(x: torch.Tensor) -> torch.Tensor:
    """The "cos" feature map: each row divided by max(‖row‖₂, 1e-12)."""
    out: torch.Tensor = F.normalize(x, p=2.0, dim=-1, eps=1e-12)
    return out


def landmark_count(case: Case, landmarks: int) -> int:
    """M actually used: the ``landmarks`` parameter, or N when N <= M (the CV code's rule)."""
    return min(landmarks, case.seq_len)


def landmark_indices(n: int, m: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """M evenly spaced token indices floor(linspace(0, N-1, M)), computed exactly in integers."""
    if m >= n:
        return torch.arange(n, device=device)
    if m == 1:
        return torch.zeros(1, dtype=torch.long, device=device)
    return (torch.arange(m, device=device) * (n - 1)) // (m - 1)


def orthogonal(gen: torch.Generator, heads: int, rows: int, cols: int) -> torch.Tensor:
    """[heads, rows, cols] fp32 with orthonormal columns (rows >= cols) or rows (rows < cols)."""
    a = torch.randn(heads, max(rows, cols), min(rows, cols), generator=gen, dtype=torch.float64)
    qr: tuple[torch.Tensor, torch.Tensor] = torch.linalg.qr(a)
    qm, rm = qr
    qm = qm * torch.sign(torch.diagonal(rm, dim1=-2, dim2=-1)).unsqueeze(-2)
    out = qm if rows >= cols else qm.transpose(-2, -1)
    return out.float().contiguous()


def mix(e: torch.Tensor, r: torch.Tensor, w_c: torch.Tensor, b_c: torch.Tensor) -> torch.Tensor:
    """Y = [e, r] W_cᵀ + b_c: e, r [B, H, N, s], W_c [Dv, 2s], b_c [Dv] -> [B, H, N, Dv]."""
    return F.linear(torch.cat([e, r], dim=-1), w_c.to(e.dtype), b_c.to(e.dtype))


def primal_landmark(
    q: torch.Tensor,
    k: torch.Tensor,
    x: torch.Tensor,
    w_e: torch.Tensor,
    w_r: torch.Tensor,
    w_c: torch.Tensor,
    b_c: torch.Tensor,
) -> torch.Tensor:
    """Non-causal Primal-Attention in fp32; returns [B, H, N, Dv] in q's dtype.

    Args:
        q, k: [B, H, N, D]. x: raw layer input [B, N, H·D].
        w_e, w_r: W~_E, W~_R [H, M, s]; M fixes the landmark count.
        w_c: [Dv, 2s]; b_c: [Dv].
    """
    b, h, n, d = q.shape
    idx = landmark_indices(n, w_e.shape[1], q.device)
    x_l = x[:, idx, :].float().reshape(b, -1, h, d).permute(0, 2, 3, 1)  # [B, H, D, M]
    we = x_l @ w_e.float()  # [B, H, D, s]
    wr = x_l @ w_r.float()
    e = phi(q.float()) @ we  # [B, H, N, s]
    r = phi(k.float()) @ wr
    return mix(e, r, w_c, b_c).to(q.dtype)


def prefix_sum(t: torch.Tensor) -> torch.Tensor:
    """Σ_{m<=n} t_m over the token axis (-2), accumulated in fp32.

    The causal form feeds the prefix *mean* (this sum divided by n) to phi; phi divides each
    row by its norm, so the positive factor 1/n cancels and the division is skipped.
    """
    return t.float().cumsum(dim=-2)


def primal_causal(
    q: torch.Tensor,
    k: torch.Tensor,
    w_e: torch.Tensor,
    w_r: torch.Tensor,
    w_c: torch.Tensor,
    b_c: torch.Tensor,
) -> torch.Tensor:
    """Causal Primal-Attention (prefix means before phi) in fp32; returns [B, H, N, Dv].

    Args:
        q, k: [B, H, N, D]. w_e, w_r: [H, D, s]. w_c: [Dv, 2s]; b_c: [Dv].
    """
    e = phi(prefix_sum(q)) @ w_e.float()  # phi(mean) = phi(sum); [B,H,N,D] @ [H,D,s]
    r = phi(prefix_sum(k)) @ w_r.float()
    return mix(e, r, w_c, b_c).to(q.dtype)


def _mix_weights(case: Case, gen: torch.Generator, s: int) -> Inputs:
    bound = 1.0 / math.sqrt(2 * s)
    w_c = (torch.rand(case.dv, 2 * s, generator=gen) * 2 - 1) * bound
    b_c = (torch.rand(case.dv, generator=gen) * 2 - 1) * bound
    return {"w_c": w_c, "b_c": b_c}


def _row_phi64(t: torch.Tensor) -> torch.Tensor:
    norms = torch.sqrt((t * t).sum(dim=-1, keepdim=True))
    return t / torch.clamp(norms, min=1e-12)


class _Primal(Variant):
    """Shared cost models of the Primal family (matmul FLOPs, fp32 working memory)."""

    def exp_count(self, case: Case) -> int:
        """About zero: 2BHN square roots for the feature map (the only transcendentals)."""
        return 2 * case.batch * case.heads * case.seq_len

    def _core_flops(self, case: Case) -> int:
        """4BHNDs (e and r scores) + 4BHNsDv (the W_c mix)."""
        b, h, n, s = case.batch, case.heads, case.seq_len, int(self.param(case, "rank"))
        return 4 * b * h * n * s * (case.head_dim + case.dv)

    def memory_bytes(self, case: Case) -> int:
        """fp32 phi(q) [BHND], e, r and [e, r] [4·BHNs], the fp32 mix [BHNDv], the output."""
        b, h, n, s = case.batch, case.heads, case.seq_len, int(self.param(case, "rank"))
        work = 4 * b * h * n * (case.head_dim + 4 * s + case.dv)
        weights = 4 * 2 * b * h * case.head_dim * s
        return work + weights + element_size(case.dtype) * b * h * n * case.dv


@register(default=True)
class PrimalLandmark(_Primal):
    """Non-causal Primal-Attention with M evenly spaced landmarks of the raw input x."""

    info = VariantInfo(
        name="primal.landmark",
        summary="Primal-Attention (KSVD), landmark form; O(N), no V, no NxN",
        time_complexity="O(N)",
        memory_complexity="O(N)",
        extra_inputs=("x", "w_e", "w_r", "w_c", "b_c"),
        causal=False,
        causal_note="landmarks include future tokens; primal.causal is the causal form",
        params=(RANK, LANDMARKS),
        flops_model="8BHNDs + 4BHDMs (4BHNDs scores, 4BHNsDv W_c mix, 4BHDMs W_e and W_r)",
        grad_inputs=("q", "k", "x"),
        bwd_multiplier=2.0,
    )

    def extra_inputs(self, case: Case, gen: torch.Generator) -> Inputs:
        s = int(self.param(case, "rank"))
        m = landmark_count(case, int(self.param(case, "landmarks")))
        h, d = case.heads, case.head_dim
        x = torch.randn(case.batch, case.seq_len, h * d, generator=gen).to(case.torch_dtype)
        return {
            "x": x,
            "w_e": orthogonal(gen, h, m, s),
            "w_r": orthogonal(gen, h, m, s),
            **_mix_weights(case, gen, s),
        }

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return primal_landmark(
            inputs["q"],
            inputs["k"],
            inputs["x"],
            inputs["w_e"],
            inputs["w_r"],
            inputs["w_c"],
            inputs["b_c"],
        )

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        """Per-head loop over the landmark formula, in the inputs' dtype (float64 for checks)."""
        q, k, x = inputs["q"], inputs["k"], inputs["x"]
        _, h, n, d = q.shape
        m = inputs["w_e"].shape[1]
        idx = landmark_indices(n, m, q.device)
        s = inputs["w_e"].shape[-1]
        w_c, b_c = inputs["w_c"].to(q.dtype), inputs["b_c"].to(q.dtype)
        heads = []
        for hh in range(h):
            x_t = x[:, idx, hh * d : (hh + 1) * d].to(q.dtype).transpose(1, 2)  # [B, D, M]
            w_e = x_t @ inputs["w_e"][hh].to(q.dtype)  # [B, D, s]
            w_r = x_t @ inputs["w_r"][hh].to(q.dtype)
            e = _row_phi64(q[:, hh]) @ w_e  # [B, N, s]
            r = _row_phi64(k[:, hh]) @ w_r
            heads.append(e @ w_c[:, :s].T + r @ w_c[:, s:].T + b_c)
        return torch.stack(heads, dim=1)

    def forward_flops(self, case: Case) -> int:
        s = int(self.param(case, "rank"))
        m = landmark_count(case, int(self.param(case, "landmarks")))
        build = 4 * case.batch * case.heads * case.head_dim * m * s
        return self._core_flops(case) + build

    def bytes_moved(self, case: Case) -> int:
        """Read q, k and the M landmark rows of x; write the output; weights in fp32."""
        e = element_size(case.dtype)
        b, h, n, d = case.batch, case.heads, case.seq_len, case.head_dim
        s = int(self.param(case, "rank"))
        m = landmark_count(case, int(self.param(case, "landmarks")))
        weights = 4 * (2 * h * m * s + case.dv * (2 * s + 1))
        return e * (2 * b * h * n * d + b * m * h * d + b * h * n * case.dv) + weights


@register
class PrimalCausal(_Primal):
    """Causal Primal-Attention: prefix means of q and k before the feature map."""

    info = VariantInfo(
        name="primal.causal",
        summary="Primal-Attention (KSVD), causal prefix-mean form; O(N), no V, no NxN",
        time_complexity="O(N)",
        memory_complexity="O(N)",
        extra_inputs=("w_e", "w_r", "w_c", "b_c"),
        causal=True,
        params=(RANK,),
        flops_model="8BHNDs (4BHNDs scores, 4BHNsDv W_c mix); + 2BHND prefix-sum adds, uncounted",
        bwd_multiplier=2.0,
        grad_inputs=("q", "k"),
    )

    def unsupported(self, case: Case, device: str | None = None) -> str | None:
        if not case.causal:
            return (
                "primal.causal is the causal (prefix-mean) form only; run it with causal: true, "
                "or use primal.landmark for the non-causal form"
            )
        return super().unsupported(case, device)

    def extra_inputs(self, case: Case, gen: torch.Generator) -> Inputs:
        s = int(self.param(case, "rank"))
        h, d = case.heads, case.head_dim
        return {
            "w_e": orthogonal(gen, h, d, s),
            "w_r": orthogonal(gen, h, d, s),
            **_mix_weights(case, gen, s),
        }

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return primal_causal(
            inputs["q"], inputs["k"], inputs["w_e"], inputs["w_r"], inputs["w_c"], inputs["b_c"]
        )

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        """Explicit prefix means (cumulative sums / counts) in the inputs' dtype."""
        q, k = inputs["q"], inputs["k"]
        n = q.shape[-2]
        counts = torch.arange(1, n + 1, dtype=q.dtype, device=q.device)[:, None]
        s = inputs["w_e"].shape[-1]
        w_c, b_c = inputs["w_c"].to(q.dtype), inputs["b_c"].to(q.dtype)
        e = torch.einsum("bhnd,hds->bhns", _row_phi64(q.cumsum(-2) / counts), inputs["w_e"])
        r = torch.einsum("bhnd,hds->bhns", _row_phi64(k.cumsum(-2) / counts), inputs["w_r"])
        return e @ w_c[:, :s].T + r @ w_c[:, s:].T + b_c

    def forward_flops(self, case: Case) -> int:
        return self._core_flops(case)

    def bytes_moved(self, case: Case) -> int:
        """Read q, k; write the output; fp32 weights."""
        e = element_size(case.dtype)
        b, h, n, d = case.batch, case.heads, case.seq_len, case.head_dim
        s = int(self.param(case, "rank"))
        weights = 4 * (2 * h * d * s + case.dv * (2 * s + 1))
        return e * (2 * b * h * n * d + b * h * n * case.dv) + weights
