"""Cog attention (V5): attention weights that may be negative.

W = sign(S) ⊙ softmax(|S| + mask), O = W V with S = QKᵀ/√D (Lv et al., arXiv 2411.07176;
code trestad/CogAttn). Σ_j |W_ij| = 1, so the output lies in the symmetric convex hull of the
visible values.

Implementations:

* ``cog.naive``      the N×N weights materialised, exactly as written (``sign(0) = 0``).
* ``cog.streaming``  online max over |s| by query and key blocks; the block of probabilities
  takes the sign of the scores (``copysign``) just before the PV product. No N×N tensor,
  causal key blocks past the diagonal skipped. The CPU default.
* ``cog.flex``       FlexAttention under ``torch.compile``: two calls (positive and negative
  scores, each with its log-sum-exp) merged in log space; 8BHN²D FLOPs.

The block engine :func:`signed_streaming` is shared with ``dipole.v1``.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import torch
from torch.utils.checkpoint import checkpoint

from attnbench.case import Case
from attnbench.variants.base import (
    Inputs,
    ParamSpec,
    Variant,
    VariantInfo,
    causal_mask,
    default_scale,
    element_size,
    sdpa_flops,
)
from attnbench.variants.registry import register
from attnbench.variants.softmax import compile_as_timed, compiled_flex_attention

NEG_INF = float("-inf")
COG_MODEL = "4BHN^2D: 2BHN^2D (QK^T) + 2BHN^2Dv (signed PV)"
SIGNED_BLOCK_PARAMS = (
    ParamSpec("block_q", 128, int, "query block size (tokens)", minimum=1),
    ParamSpec("block_k", 4096, int, "key block size (tokens)", minimum=1),
)


def cog_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    """sign(S) ⊙ softmax(|S| with masked entries −inf) V, materialised (any dtype).

    Args:
        q, k: [B, H, N, D]; v: [B, H, N, Dv].
        causal: key j visible to query i iff j <= i.

    Returns:
        [B, H, N, Dv] in the dtype of ``q``.
    """
    s = (q @ k.transpose(-2, -1)) * default_scale(q.shape[-1])
    a = s.abs()
    if causal:
        a = a.masked_fill(~causal_mask(q.shape[-2], k.shape[-2], q.device), NEG_INF)
    return (torch.sign(s) * torch.softmax(a, dim=-1)) @ v


def compute(x: torch.Tensor) -> torch.Tensor:
    """``x`` in its compute dtype: fp64 stays fp64, everything else runs in fp32."""
    return x if x.dtype == torch.float64 else x.float()


def _view(flat: torch.Tensor | None, shape: tuple[int, ...]) -> torch.Tensor | None:
    """A contiguous ``shape`` view of the start of a reusable flat buffer (None: allocate)."""
    if flat is None:
        return None
    return flat[: math.prod(shape)].view(shape)


def _signed_rows(
    qf: torch.Tensor,
    kf: torch.Tensor,
    plain: torch.Tensor | None,
    signed: torch.Tensor,
    start: int,
    causal: bool,
    buffers: tuple[torch.Tensor, torch.Tensor] | None,
) -> torch.Tensor:
    """Fast path of :func:`_signed_block` when all visible keys fit in one block (no grad).

    The row softmax of |s| runs as torch's fused kernel, in place in the scratch buffer.
    """
    sbuf, pbuf = buffers if buffers is not None else (None, None)
    n_k = kf.shape[-2]
    shape = (*qf.shape[:-1], n_k)
    s = torch.matmul(qf, kf.transpose(-2, -1), out=_view(sbuf, shape))
    p = torch.abs(s, out=_view(pbuf, shape))
    if causal and n_k - 1 > start:
        p.masked_fill_(~causal_mask(qf.shape[-2], n_k, qf.device, q_offset=start), NEG_INF)
    torch.ops.aten._softmax.out(p, -1, False, out=p)
    acc = p @ plain[..., :n_k, :] if plain is not None else None
    out = p.copysign_(s) @ signed[..., :n_k, :]
    return out if acc is None else out.add_(acc)


def _signed_block(
    qf: torch.Tensor,
    kf: torch.Tensor,
    plain: torch.Tensor | None,
    signed: torch.Tensor,
    start: int,
    causal: bool,
    block_k: int,
    buffers: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """One query block of :func:`signed_streaming` (``qf`` already scaled, all fp32).

    With ``buffers`` (two flat fp32 scratch tensors of at least one block each) the scores
    and probabilities are written into them and transformed in place: no allocation per block
    and no autograd. Without, every step is out of place and differentiable.
    """
    inplace = buffers is not None
    sbuf, pbuf = buffers if buffers is not None else (None, None)
    stop = start + qf.shape[-2]
    k_end = stop if causal else kf.shape[-2]
    if inplace and k_end <= block_k:
        return _signed_rows(qf, kf[..., :k_end, :], plain, signed, start, causal, buffers)
    m = qf.new_full((*qf.shape[:-1], 1), NEG_INF)
    l_sum = torch.zeros_like(m)
    acc = qf.new_zeros((*qf.shape[:-1], signed.shape[-1]))
    for ks in range(0, k_end, block_k):
        ke = min(ks + block_k, k_end)
        shape = (*qf.shape[:-1], ke - ks)
        s = torch.matmul(qf, kf[..., ks:ke, :].transpose(-2, -1), out=_view(sbuf, shape))
        a = torch.abs(s, out=_view(pbuf, shape))
        if causal and ke - 1 > start:
            hidden = ~causal_mask(stop - start, ke - ks, qf.device, q_offset=start - ks)
            a = a.masked_fill_(hidden, NEG_INF) if inplace else a.masked_fill(hidden, NEG_INF)
        m_new = torch.maximum(m, a.amax(dim=-1, keepdim=True))
        p = a.sub_(m_new).exp_() if inplace else torch.exp(a - m_new)
        alpha = torch.exp(m - m_new)
        l_sum = l_sum * alpha + p.sum(dim=-1, keepdim=True)
        acc = acc * alpha
        if plain is not None:
            acc = acc + p @ plain[..., ks:ke, :]
        p = p.copysign_(s) if inplace else torch.copysign(p, s)
        acc = acc + p @ signed[..., ks:ke, :]
        m = m_new
    return acc / l_sum


def signed_streaming(
    q: torch.Tensor,
    k: torch.Tensor,
    signed: torch.Tensor,
    causal: bool,
    block_q: int,
    block_k: int,
    plain: torch.Tensor | None = None,
) -> torch.Tensor:
    """Σ_j p_ij (plain_j + sign(s_ij) signed_j), p = softmax(|S| + mask), by blocks.

    The online softmax runs over |s| (running row max ``m``, normaliser ``l``, fp32
    accumulator). Only a [B, H, block_q, block_k] block of scores exists at any time; causal key
    blocks past the diagonal are skipped. Without autograd the block is transformed in place
    (abs, exp, copysign); with autograd each query block is checkpointed and recomputed in the
    backward pass. Scores that are exactly 0 count as positive (``copysign(p, +0) = p``).

    Args:
        q, k: [B, H, N, D] (any float dtype; computed in fp32, fp64 in fp64; scale 1/√D).
        signed: [B, H, N, Dv] values weighted by the signed probabilities (Cog: V).
        causal: key j visible to query i iff j <= i.
        block_q, block_k: block sizes in tokens; any N (the last block is ragged).
        plain: optional [B, H, N, Dv] values weighted by the unsigned probabilities.

    Returns:
        [B, H, N, Dv] in the dtype of ``q``.
    """
    n = q.shape[-2]
    grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (q, k, signed, plain)
    )
    qf = compute(q) * default_scale(q.shape[-1])
    kf, sf = compute(k), compute(signed)
    pf = compute(plain) if plain is not None else None
    starts = range(0, n, block_q)
    if grad:
        outs = [
            checkpoint(
                _signed_block,
                qf[..., qs : qs + block_q, :],
                kf,
                pf,
                sf,
                qs,
                causal,
                block_k,
                use_reentrant=False,
                preserve_rng_state=False,  # no randomness; stashing RNG breaks graph capture
            )
            for qs in starts
        ]
        return torch.cat(outs, dim=-2).to(q.dtype)
    size = math.prod(qf.shape[:-2]) * min(block_q, n) * min(block_k, n)
    buffers = (qf.new_empty(size), qf.new_empty(size))
    out = qf.new_empty((*qf.shape[:-1], sf.shape[-1]))
    for qs in starts:
        q_blk = qf[..., qs : qs + block_q, :]
        out[..., qs : qs + block_q, :] = _signed_block(
            q_blk, kf, pf, sf, qs, causal, block_k, buffers
        )
    return out.to(q.dtype)


def signed_memory_bytes(case: Case, block_q: int, block_k: int, values: int) -> int:
    """Output plus one fp32 score block, two block temporaries and fp32 copies of the inputs."""
    b, h, n = case.batch, case.heads, case.seq_len
    bq, bk = min(block_q, n), min(block_k, n)
    out = 4 * b * h * n * case.dv
    copies = 0 if case.dtype == "fp32" else 4 * b * h * n * (2 * case.head_dim + values * case.dv)
    return out + copies + 4 * b * h * bq * (2 * bk + case.dv + 2)


class _Cog(Variant):
    """Reference and cost model shared by the Cog implementations."""

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return cog_reference(inputs["q"], inputs["k"], inputs["v"], case.causal)

    def forward_flops(self, case: Case) -> int:
        return sdpa_flops(case, self.info.skips_masked)


@register
class CogNaive(_Cog):
    """sign(S) ⊙ softmax(|S|) materialised as an N×N tensor per (B, H), computed in fp32."""

    info = VariantInfo(
        name="cog.naive",
        summary="materialised sign(S)*softmax(|S|) V (N x N weights)",
        memory_complexity="O(N^2)",
        skips_masked=False,
        flops_model=COG_MODEL + " (full matrix computed, causal not halved)",
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q = inputs["q"]
        k, v = inputs["k"], inputs["v"]
        out = cog_reference(compute(q), compute(k), compute(v), case.causal)
        return out.to(q.dtype)


@register(default=True)
class CogStreaming(_Cog):
    """Online max over |s| by blocks; sign applied to the probability block before PV."""

    info = VariantInfo(
        name="cog.streaming",
        summary="online softmax over |s| with sign routing, O(N) memory, causal blocks skipped",
        memory_complexity="O(N)",
        skips_masked=True,
        params=SIGNED_BLOCK_PARAMS,
        flops_model=COG_MODEL + "; causal counts N(N+1)/2 pairs (blocks past diagonal skipped)",
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return signed_streaming(
            inputs["q"],
            inputs["k"],
            inputs["v"],
            case.causal,
            self.param(case, "block_q"),
            self.param(case, "block_k"),
        )

    def memory_bytes(self, case: Case) -> int:
        bq, bk = int(self.param(case, "block_q")), int(self.param(case, "block_k"))
        return signed_memory_bytes(case, bq, bk, values=1)


def _flex_mods(n: int) -> tuple[Any, Any]:
    """score_mod and causal mask_mod over the doubled key axis [K; K] (2N keys)."""

    def score_mod(score: Any, b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
        # first copy keeps positive scores (value +v), second copy the rest (value -v)
        return torch.where((kv_idx < n) == (score > 0), score.abs(), NEG_INF)

    def causal(b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
        return q_idx >= torch.where(kv_idx < n, kv_idx, kv_idx - n)

    return score_mod, causal


def _cog_flex_entry(
    q: torch.Tensor, k2: torch.Tensor, v2: torch.Tensor, score_mod: Any, mask: Any
) -> Any:
    """The frame cog.flex compiles (its own code object, its own recompile budget)."""
    return torch.nn.attention.flex_attention.flex_attention(
        q, k2, v2, score_mod=score_mod, block_mask=mask
    )


@register
class CogFlex(_Cog):
    """One FlexAttention call over doubled keys: [K; K] with values [V; −V].

    ``score_mod`` keeps |s| on the first copy where s > 0 and on the second copy where s <= 0
    (−inf elsewhere), so the flex softmax normaliser is Σ_j exp(|s_ij|) and the numerator is
    Σ_j sign(s_ij) exp(|s_ij|) v_j: exactly Cog. This replaces the two-call LSE merge of
    variants.md V5 because FlexAttention under ``torch.compile`` on CPU cannot return the LSE
    (inference only). Same cost as the merge: 8BHN²D, 2BHN² exponentials.
    """

    info = VariantInfo(
        name="cog.flex",
        summary="FlexAttention over doubled keys [K;K], values [V;-V] (torch.compile)",
        memory_complexity="O(N)",
        skips_masked=True,
        backward=False,
        flops_model="8BHN^2D: 2x(2BHN^2D + 2BHN^2Dv) over 2N keys; causal halved by block mask",
    )

    def __init__(self) -> None:
        self._compiled: Any = None
        self._masks: dict[tuple[int, str], Any] = {}

    def unsupported(self, case: Case, device: str | None = None) -> str | None:
        why = super().unsupported(case, device)
        if why:
            return why
        if importlib.util.find_spec("torch.nn.attention.flex_attention") is None:
            return f"FlexAttention is not available in torch {torch.__version__}"
        return None

    def _block_mask(self, n: int, causal: bool, device: torch.device) -> Any:
        if not causal:
            return None
        key = (n, str(device))
        if key not in self._masks:
            from torch.nn.attention.flex_attention import create_block_mask

            mask_mod = _flex_mods(n)[1]
            self._masks[key] = create_block_mask(mask_mod, None, None, n, 2 * n, str(device))
        return self._masks[key]

    def setup(self, inputs: Inputs, case: Case) -> None:
        """Compile in the grad mode the calls are timed in (:func:`compile_as_timed`)."""
        compile_as_timed(self, inputs, case)

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        if self._compiled is None:
            self._compiled = compiled_flex_attention(_cog_flex_entry)
        q, k, v = inputs["q"], inputs["k"], inputs["v"]
        n = q.shape[-2]
        mask = self._block_mask(n, case.causal, q.device)
        k2, v2 = torch.cat([k, k], dim=-2), torch.cat([v, -v], dim=-2)
        out = self._compiled(q, k2, v2, _flex_mods(n)[0], mask)
        assert isinstance(out, torch.Tensor)
        return out

    def forward_flops(self, case: Case) -> int:
        return 2 * sdpa_flops(case, self.info.skips_masked)

    def exp_count(self, case: Case) -> int:
        return 2 * super().exp_count(case)

    def bytes_moved(self, case: Case) -> int:
        """Reads q once and the doubled k, v; writes the output."""
        e = element_size(case.dtype)
        b, h, n = case.batch, case.heads, case.seq_len
        return e * b * h * n * (3 * case.head_dim + 3 * case.dv)

    def backend(self, inputs: Inputs, case: Case) -> str:
        return "flex.compiled"
