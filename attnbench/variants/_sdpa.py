"""SDPA with shared key/value heads, bottom-right causal alignment and windows.

torch's ``scaled_dot_product_attention`` aligns ``is_causal`` top-left, which agrees with the
bottom-right convention of :mod:`attnbench.variants._masks` only when N = N_kv; the helpers
here choose the mask that SDPA gets so that every variant calling it means the same thing,
and ask torch which backend it picks for exactly that call.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend

from attnbench.variants._masks import block_hidden, visible_mask


def sdpa_mask(
    n_q: int, n_k: int, causal: bool, window: int | None, device: torch.device
) -> tuple[Any, bool]:
    """``(attn_mask, is_causal)`` for SDPA with bottom-right causal alignment and a window.

    ``is_causal`` (top-left) only where it agrees with bottom-right (N = N_kv);
    ``causal_lower_right`` for causal N < N_kv; an explicit boolean mask for a window; nothing
    where no pair is hidden.
    """
    if not block_hidden(0, n_q, 0, n_k, n_q, n_k, causal, window):
        return None, False
    if window is None and n_q == n_k:
        return None, True
    if window is None:
        from torch.nn.attention.bias import causal_lower_right

        return causal_lower_right(n_q, n_k), False
    return visible_mask(n_q, n_k, causal, window, device), False


def sdpa_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool,
    window: int | None = None,
    scale: float | None = None,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """SDPA on q [B, H, N, D] and k, v [B, H_kv, N_kv, ·] (GQA shared, never copied).

    ``bias`` is an additive float mask broadcastable to [B, H, N, N_kv]; the causal/window
    mask is folded into it as −inf. Masks follow :func:`sdpa_mask`.
    """
    kwargs: dict[str, Any] = {"scale": scale}
    if k.shape[-3] != q.shape[-3]:
        kwargs["enable_gqa"] = True
    n_q, n_k = q.shape[-2], k.shape[-2]
    if bias is not None:
        keep = visible_mask(n_q, n_k, causal, window, q.device)
        if keep is not None:
            bias = bias.masked_fill(~keep, float("-inf"))
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, **kwargs)
    mask, is_causal = sdpa_mask(n_q, n_k, causal, window, q.device)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal, **kwargs)


_BACKEND_NAMES = {
    SDPBackend.MATH: "math",
    SDPBackend.FLASH_ATTENTION: "flash",
    SDPBackend.EFFICIENT_ATTENTION: "efficient",
    SDPBackend.CUDNN_ATTENTION: "cudnn",
}


def sdpa_backend_choice(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool,
    window: int | None = None,
    bias: bool = False,
) -> str:
    """Name of the SDPA backend torch picks for these tensors (``unknown`` if it won't say).

    Asked with the mask :func:`sdpa_attention` would pass (a dense stand-in for
    ``causal_lower_right``, a float mask when ``bias``) and ``enable_gqa`` for shared heads.
    """
    try:
        n_q, n_k = q.shape[-2], k.shape[-2]
        mask, is_causal = sdpa_mask(n_q, n_k, causal, window, q.device)
        if mask is not None or bias:
            mask = visible_mask(n_q, n_k, causal, window, q.device)
            if mask is None:
                mask = torch.ones(n_q, n_k, dtype=torch.bool, device=q.device)
            if bias:
                mask = torch.zeros(n_q, n_k, dtype=q.dtype, device=q.device).masked_fill(
                    ~mask, float("-inf")
                )
        gqa = k.shape[-3] != q.shape[-3]
        choice = torch._fused_sdp_choice(q, k, v, mask, 0.0, is_causal, enable_gqa=gqa)
        return _BACKEND_NAMES.get(SDPBackend(choice), str(choice))
    except Exception:  # private API: absence must never break a run
        return "unknown"


def sdpa_label(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, window: int | None = None
) -> str:
    """``sdpa.<backend>`` for a variant that calls SDPA on tensors shaped like these."""
    return "sdpa." + sdpa_backend_choice(q, k, v, causal, window)
