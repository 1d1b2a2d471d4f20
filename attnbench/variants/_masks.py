"""Which query-key pairs are visible, and how key/value heads are shared (GQA).

One convention for every variant (see :class:`~attnbench.case.Case`): queries are aligned
bottom-right, query i at key position ``i' = i + N_kv - N``; causal hides keys j > i'; a window
W hides keys j < i' - W and, without causal, keys j > i' + W. Query head h reads key/value head
``h // (H / H_kv)``, the ``repeat_interleave`` order of SDPA's ``enable_gqa``.

The module name starts with an underscore so that the registry does not import it as a
variant family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from attnbench.case import Case


def key_span(
    q_start: int, q_stop: int, n_q: int, n_k: int, causal: bool, window: int | None
) -> tuple[int, int]:
    """Keys ``[lo, hi)`` visible to at least one of the queries ``q_start..q_stop-1``.

    The span is contiguous (each query's visible keys are an interval whose ends never move
    left as the query moves right). It is empty (``lo >= hi``) only for rows with no key.
    """
    offset = n_k - n_q
    first, last = q_start + offset, q_stop - 1 + offset
    lo = 0 if window is None else max(0, first - window)
    if causal:
        hi = last + 1
    elif window is not None:
        hi = last + window + 1
    else:
        hi = n_k
    return lo, max(lo, min(hi, n_k))


def block_hidden(
    q_start: int,
    q_stop: int,
    k_start: int,
    k_stop: int,
    n_q: int,
    n_k: int,
    causal: bool,
    window: int | None,
) -> bool:
    """Whether some pair of the block (queries ``[q_start, q_stop)``, keys ``[k_start, k_stop)``)
    is hidden; decided from the indices alone, so a kernel never syncs to find out."""
    offset = n_k - n_q
    first, last = q_start + offset, q_stop - 1 + offset
    if causal and k_stop - 1 > first:
        return True
    if window is not None and k_start < last - window:
        return True
    return window is not None and not causal and k_stop - 1 > first + window


def visible_mask(
    n_q: int,
    n_k: int,
    causal: bool,
    window: int | None,
    device: torch.device | str,
    q_block: tuple[int, int] | None = None,
    k_block: tuple[int, int] | None = None,
) -> torch.Tensor | None:
    """Boolean mask, True where the key is visible; None when every pair is.

    ``n_q``/``n_k`` are the full query and key lengths (they fix the bottom-right offset);
    ``q_block``/``k_block`` (``(start, stop)``) select a block, default everything, and the
    mask is ``[q_stop - q_start, k_stop - k_start]``.
    """
    qs, qe = q_block if q_block is not None else (0, n_q)
    ks, ke = k_block if k_block is not None else (0, n_k)
    if not block_hidden(qs, qe, ks, ke, n_q, n_k, causal, window):
        return None
    offset = n_k - n_q
    pos = torch.arange(qs + offset, qe + offset, device=device)[:, None]
    key = torch.arange(ks, ke, device=device)[None, :]
    keep = torch.ones(qe - qs, ke - ks, dtype=torch.bool, device=device)
    if causal:
        keep &= key <= pos
    if window is not None:
        keep &= key >= pos - window
        if not causal:
            keep &= key <= pos + window
    return keep


def case_mask(case: Case, device: torch.device | str) -> torch.Tensor | None:
    """:func:`visible_mask` of a whole case, ``[N, N_kv]`` (None when nothing is hidden)."""
    return visible_mask(case.seq_len, case.nkv, case.causal, case.window, device)


def visible_pairs(n_q: int, n_k: int, causal: bool, window: int | None) -> int:
    """Visible query-key pairs per (batch, head), summed row by row in exact integers."""
    if not causal and window is None:
        return n_q * n_k
    pos = torch.arange(n_k - n_q, n_k, dtype=torch.int64)
    lo = torch.zeros_like(pos) if window is None else (pos - window).clamp_min(0)
    if causal:
        hi = pos + 1
    else:
        assert window is not None
        hi = pos + window + 1
    hi = hi.clamp(max=n_k)
    return int((hi - lo).clamp_min(0).sum())


def case_pairs(case: Case) -> int:
    """:func:`visible_pairs` of a case."""
    return visible_pairs(case.seq_len, case.nkv, case.causal, case.window)


def keys_read(case: Case) -> int:
    """Keys (per batch and key/value head) that some query can see: what a skipping kernel reads."""
    lo, hi = key_span(0, case.seq_len, case.seq_len, case.nkv, case.causal, case.window)
    return hi - lo


def expand_kv(t: torch.Tensor, heads: int) -> torch.Tensor:
    """``t`` [B, H_kv, N_kv, ·] repeated to ``heads`` heads (head h reads h // group); a copy.

    For references and kernels that need equal head counts; kernels that can share heads
    use :func:`group_queries` instead.
    """
    group = heads // t.shape[-3]
    return t if group == 1 else t.repeat_interleave(group, dim=-3)


def group_queries(q: torch.Tensor, heads_kv: int) -> torch.Tensor:
    """A view of q [B, H, N, D] as [B, H_kv, G, N, D] (G = H / H_kv query heads per kv head)."""
    b, h, n, d = q.shape
    return q.view(b, heads_kv, h // heads_kv, n, d)


def share_kv(t: torch.Tensor) -> torch.Tensor:
    """A view of k or v [B, H_kv, N_kv, ·] as [B, H_kv, 1, N_kv, ·] that broadcasts over G."""
    return t.unsqueeze(-3)


def ungroup(out: torch.Tensor) -> torch.Tensor:
    """[B, H_kv, G, N, Dv] back to [B, H, N, Dv]."""
    b, hkv, g, n, dv = out.shape
    return out.reshape(b, hkv * g, n, dv)


@dataclass(frozen=True)
class Visibility:
    """The mask of one attention call: lengths, causal flag and window (bottom-right).

    Passed to block kernels in place of a bare ``causal`` flag so that they can find the key
    span of a query block and the mask of an edge block.
    """

    n_q: int
    n_k: int
    causal: bool
    window: int | None = None

    @property
    def hides(self) -> bool:
        """Some pair is hidden."""
        return block_hidden(0, self.n_q, 0, self.n_k, self.n_q, self.n_k, self.causal, self.window)

    def span(self, q_start: int, q_stop: int) -> tuple[int, int]:
        """:func:`key_span` of the query block."""
        return key_span(q_start, q_stop, self.n_q, self.n_k, self.causal, self.window)

    def block(
        self, q_block: tuple[int, int], k_block: tuple[int, int], device: torch.device | str
    ) -> torch.Tensor | None:
        """:func:`visible_mask` of one block (None when all of it is visible)."""
        return visible_mask(self.n_q, self.n_k, self.causal, self.window, device, q_block, k_block)


def flex_mask_mod(
    n_q: int, n_k: int, causal: bool, window: int | None, period: int | None = None
) -> Callable[..., Any]:
    """FlexAttention ``mask_mod``: bottom-right causal and/or window over ``n_k`` keys.

    ``period`` folds the key index (``kv_idx mod period``) for kernels that lay out several
    copies of the keys side by side (``cog.flex`` doubles them).
    """
    offset = n_k - n_q if period is None else period - n_q

    def mask_mod(b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
        pos = q_idx + offset
        key = kv_idx if period is None else torch.where(kv_idx < period, kv_idx, kv_idx - period)
        keep = key <= pos if causal else key <= pos + (window if window is not None else n_k)
        if window is not None:
            keep = keep & (key >= pos - window)
        return keep

    return mask_mod
