"""Standard softmax attention (V1): the reference family every other variant is compared to.

Implementations:

* ``softmax.naive``      materialised softmax(QKᵀ/√D)V; the readable reference.
* ``softmax.sdpa``       torch SDPA with torch's own backend choice (recorded per case).
* ``softmax.sdpa_math`` / ``sdpa_flash`` / ``sdpa_efficient`` / ``sdpa_cudnn``: SDPA with a
  single backend allowed, so a case the backend cannot run is *skipped* with torch's reason,
  never silently run by another backend.
* ``softmax.streaming``  online softmax over query and key blocks in plain torch: no N×N
  tensor, O(N) memory, any N, causal blocks past the diagonal skipped.
* ``softmax.flex``       FlexAttention under ``torch.compile``; compilation is the setup phase.
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, cast

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.checkpoint import checkpoint

from attnbench.case import Case
from attnbench.errors import UnsupportedCase
from attnbench.variants.base import (
    Inputs,
    ParamSpec,
    Variant,
    VariantInfo,
    default_scale,
    naive_softmax_attention,
    sdpa_flops,
)
from attnbench.variants.registry import register

SDPA_MODEL = "4BHN^2D: 2BHN^2D (QK^T) + 2BHN^2Dv (PV); causal counts N(N+1)/2 pairs"


class _Softmax(Variant):
    """Shared reference and FLOP model of the softmax family."""

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return naive_softmax_attention(inputs["q"], inputs["k"], inputs["v"], case.causal)

    def forward_flops(self, case: Case) -> int:
        return sdpa_flops(case, self.info.skips_masked)


@register
class SoftmaxNaive(_Softmax):
    """softmax(QKᵀ/√D + mask)V with the N×N probabilities materialised."""

    info = VariantInfo(
        name="softmax.naive",
        summary="materialised softmax(QK^T/sqrt(D))V; the reference",
        memory_complexity="O(N^2)",
        skips_masked=False,
        flops_model="4BHN^2D (full matrix computed, causal masked not skipped)",
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return naive_softmax_attention(inputs["q"], inputs["k"], inputs["v"], case.causal)


_BACKEND_NAMES = {
    SDPBackend.MATH: "math",
    SDPBackend.FLASH_ATTENTION: "flash",
    SDPBackend.EFFICIENT_ATTENTION: "efficient",
    SDPBackend.CUDNN_ATTENTION: "cudnn",
}


def sdpa_backend_choice(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> str:
    """Name of the SDPA backend torch picks for these tensors (``unknown`` if it won't say)."""
    try:
        choice = torch._fused_sdp_choice(q, k, v, None, 0.0, causal)
        return _BACKEND_NAMES.get(SDPBackend(choice), str(choice))
    except Exception:  # private API: absence must never break a run
        return "unknown"


def sdpa_label(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> str:
    """``sdpa.<backend>`` for a variant that calls SDPA on tensors shaped like these."""
    return "sdpa." + sdpa_backend_choice(q, k, v, causal)


class _Sdpa(_Softmax):
    """torch SDPA, with at most one backend allowed when ``pinned`` is set."""

    pinned: ClassVar[SDPBackend | None] = None

    def __init__(self) -> None:
        self._pinned_active = False

    @contextmanager
    def call_context(self, case: Case) -> Iterator[None]:
        """Pin the backend once for all of a case's calls (the harness enters this)."""
        if self.pinned is None:
            yield
            return
        with sdpa_kernel(self.pinned):
            self._pinned_active = True
            try:
                yield
            finally:
                self._pinned_active = False

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        q, k, v = inputs["q"], inputs["k"], inputs["v"]
        if self.pinned is None:
            return F.scaled_dot_product_attention(q, k, v, is_causal=case.causal)
        try:
            if self._pinned_active:
                return F.scaled_dot_product_attention(q, k, v, is_causal=case.causal)
            with sdpa_kernel(self.pinned):
                return F.scaled_dot_product_attention(q, k, v, is_causal=case.causal)
        except RuntimeError as exc:
            if "No viable backend" not in str(exc) and "No available kernel" not in str(exc):
                raise
            raise self._unsupported(inputs, case, exc) from exc

    def _unsupported(self, inputs: Inputs, case: Case, exc: RuntimeError) -> UnsupportedCase:
        """Torch explains a refused backend in warnings: call once more to collect them."""
        assert self.pinned is not None
        q, k, v = inputs["q"], inputs["k"], inputs["v"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with contextlib.suppress(RuntimeError), sdpa_kernel(self.pinned):
                F.scaled_dot_product_attention(q, k, v, is_causal=case.causal)
        why = "; ".join(str(w.message).strip() for w in caught) or str(exc).strip()
        name = _BACKEND_NAMES[self.pinned]
        return UnsupportedCase(
            f"SDPA backend '{name}' cannot run this case on {q.device.type}: {why}"
        )

    def backend(self, inputs: Inputs, case: Case) -> str:
        if self.pinned is not None:
            return f"sdpa.{_BACKEND_NAMES[self.pinned]}"
        return "sdpa." + sdpa_backend_choice(inputs["q"], inputs["k"], inputs["v"], case.causal)


def _sdpa_info(name: str, summary: str, memory: str, skips: bool) -> VariantInfo:
    return VariantInfo(
        name=name,
        summary=summary,
        memory_complexity=memory,
        skips_masked=skips,
        flops_model=SDPA_MODEL if skips else "4BHN^2D (full matrix, causal not halved)",
    )


@register(default=True)
class SoftmaxSdpa(_Sdpa):
    """SDPA with torch's backend choice; the backend that ran is recorded per case."""

    info = _sdpa_info("softmax.sdpa", "torch SDPA, backend chosen by torch", "O(N)", True)


@register
class SoftmaxSdpaMath(_Sdpa):
    info = _sdpa_info("softmax.sdpa_math", "SDPA pinned to the math backend", "O(N^2)", False)
    pinned = SDPBackend.MATH


@register
class SoftmaxSdpaFlash(_Sdpa):
    info = _sdpa_info("softmax.sdpa_flash", "SDPA pinned to FlashAttention", "O(N)", True)
    pinned = SDPBackend.FLASH_ATTENTION


@register
class SoftmaxSdpaEfficient(_Sdpa):
    info = _sdpa_info(
        "softmax.sdpa_efficient", "SDPA pinned to memory-efficient attention", "O(N)", True
    )
    pinned = SDPBackend.EFFICIENT_ATTENTION


@register
class SoftmaxSdpaCudnn(_Sdpa):
    info = _sdpa_info("softmax.sdpa_cudnn", "SDPA pinned to cuDNN attention", "O(N)", True)
    pinned = SDPBackend.CUDNN_ATTENTION


def streaming_softmax(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool,
    block_q: int,
    block_k: int,
    scale: float | None = None,
    score_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Online-softmax attention over query and key blocks; never holds an N×N tensor.

    Per query block the running row max ``m``, normaliser ``l`` and fp32 accumulator are
    rescaled as each key block arrives. Causal key blocks entirely above the diagonal are
    skipped. Under autograd each query block is checkpointed, so the backward pass also holds
    only one block's scores at a time. ``score_fn`` may transform the scaled scores (used by
    variants that add a bias); it must be elementwise.

    Args:
        q, k: [B, H, N, D]; v: [B, H, N, Dv].
        block_q, block_k: block sizes in tokens (any N works; the last block is ragged).
        scale: score scale, default 1/√D.
    """
    n = q.shape[-2]
    s = default_scale(q.shape[-1]) if scale is None else scale
    acc_dtype = torch.promote_types(q.dtype, torch.float32)  # fp32, or fp64 for fp64 inputs

    def one_block(q_blk: torch.Tensor, start: int) -> torch.Tensor:
        stop = start + q_blk.shape[-2]
        qf = q_blk.to(acc_dtype) * s
        m = torch.full((*qf.shape[:-1], 1), float("-inf"), device=q.device, dtype=acc_dtype)
        l_sum = torch.zeros_like(m)
        acc = torch.zeros((*qf.shape[:-1], v.shape[-1]), device=q.device, dtype=acc_dtype)
        k_end = stop if causal else n
        for ks in range(0, k_end, block_k):
            ke = min(ks + block_k, k_end)
            scores = qf @ k[..., ks:ke, :].to(acc_dtype).transpose(-2, -1)
            if score_fn is not None:
                scores = score_fn(scores)
            if causal and ke - 1 > start:
                rows = torch.arange(start, stop, device=q.device)[:, None]
                cols = torch.arange(ks, ke, device=q.device)[None, :]
                scores = scores.masked_fill(cols > rows, float("-inf"))
            m_new = torch.maximum(m, scores.amax(dim=-1, keepdim=True))
            p = torch.exp(scores - m_new)
            alpha = torch.exp(m - m_new)
            l_sum = l_sum * alpha + p.sum(dim=-1, keepdim=True)
            acc = acc * alpha + p @ v[..., ks:ke, :].to(acc_dtype)
            m = m_new
        return (acc / l_sum).to(q.dtype)

    grad = torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v))
    outs = []
    for qs in range(0, n, block_q):
        q_blk = q[..., qs : min(qs + block_q, n), :]
        if grad:
            # no randomness inside: stashing the RNG state would fail under CUDA-graph capture
            # on torch versions without the fix for pytorch#162504
            outs.append(
                checkpoint(one_block, q_blk, qs, use_reentrant=False, preserve_rng_state=False)
            )
        else:
            outs.append(one_block(q_blk, qs))
    return torch.cat(outs, dim=-2)


BLOCK_PARAMS = (
    ParamSpec("block_q", 256, int, "query block size (tokens)", minimum=1),
    ParamSpec("block_k", 512, int, "key block size (tokens)", minimum=1),
)


@register
class SoftmaxStreaming(_Softmax):
    """Online softmax over blocks in plain torch (no N×N tensor)."""

    info = VariantInfo(
        name="softmax.streaming",
        summary="online softmax over query/key blocks, O(N) memory, plain torch",
        memory_complexity="O(N)",
        skips_masked=True,
        params=BLOCK_PARAMS,
        flops_model=SDPA_MODEL + " (key blocks above the diagonal skipped)",
    )

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return streaming_softmax(
            inputs["q"],
            inputs["k"],
            inputs["v"],
            case.causal,
            self.param(case, "block_q"),
            self.param(case, "block_k"),
        )

    def memory_bytes(self, case: Case) -> int:
        b, h, n = case.batch, case.heads, case.seq_len
        bq = min(int(self.param(case, "block_q")), n)
        bk = min(int(self.param(case, "block_k")), n)
        out = b * h * n * case.dv * 4
        return out + 4 * b * h * bq * (2 * bk + case.dv + 2)


FLEX_RECOMPILE_LIMIT = 64
"""Compiled shapes allowed per compiled function before dynamo gives up (torch's default is 8)."""


def compiled_flex_attention(entry: Callable[..., Any] | None = None) -> Any:
    """``entry`` (default: ``flex_attention`` itself) under ``torch.compile``, never eager.

    Each new shape or dtype recompiles the same function. Past dynamo's recompile limit
    (8 by default) torch quietly runs the eager, materialising implementation instead, and a
    long suite would time the wrong kernel. The limit is raised to ``FLEX_RECOMPILE_LIMIT`` and
    ``fail_on_recompile_limit_hit`` is set where torch has it, so going past the limit raises
    and the case fails with torch's message. Both settings are process-wide dynamo config.
    The limit counts per code object: each flex variant compiles its own ``entry`` function so
    that softmax.flex and cog.flex do not spend each other's budget.
    """
    from torch.nn.attention.flex_attention import flex_attention

    config = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(config, name):
            setattr(config, name, max(int(getattr(config, name)), FLEX_RECOMPILE_LIMIT))
    if hasattr(config, "fail_on_recompile_limit_hit"):
        config.fail_on_recompile_limit_hit = True
    target = entry if entry is not None else cast(Callable[..., Any], flex_attention)
    return torch.compile(target, dynamic=False)


def compile_as_timed(variant: Variant, inputs: Inputs, case: Case) -> None:
    """Run ``variant`` once with the inputs in the state the timed calls will see them.

    dynamo guards on the grad mode and on each input's ``requires_grad``; the harness times
    calls in its own grad mode (setup inherits it: no ``no_grad`` here) and, for ``fwd_bwd``
    and ``bwd``, with the variant's grad inputs requiring grad, set only after setup. So the
    compile uses detached aliases (no copy) that require grad, and runs the backward too:
    the graph compiled here is the one timed, and ``time/setup_ms`` is its compile time.
    """
    grads = case.pass_ != "fwd" and torch.is_grad_enabled()
    timed = {
        key: t.detach().requires_grad_(True)
        if grads and key in variant.info.grad_inputs and t.is_floating_point()
        else t
        for key, t in inputs.items()
    }
    out = variant.forward(timed, case)
    leaves = [t for t in timed.values() if t.requires_grad]
    if leaves:
        torch.autograd.grad(out, leaves, torch.ones_like(out))


def _softmax_flex_entry(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Any) -> Any:
    """The frame softmax.flex compiles (its own code object, its own recompile budget)."""
    return torch.nn.attention.flex_attention.flex_attention(q, k, v, block_mask=mask)


@register
class SoftmaxFlex(_Softmax):
    """FlexAttention compiled with torch.compile; compile and block-mask build are setup."""

    info = VariantInfo(
        name="softmax.flex",
        summary="FlexAttention (torch.compile); compile time is its own phase",
        memory_complexity="O(N)",
        skips_masked=True,
        flops_model=SDPA_MODEL + " (masked blocks skipped by the block mask)",
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
        if device is not None and device.startswith("cpu") and case.pass_ != "fwd":
            return (
                f"FlexAttention has no backward on CPU (torch {torch.__version__}); "
                "time the fwd pass here, or fwd_bwd on a GPU"
            )
        return None

    def _block_mask(self, case: Case, device: torch.device) -> Any:
        if not case.causal:
            return None
        key = (case.seq_len, str(device))
        if key not in self._masks:
            from torch.nn.attention.flex_attention import create_block_mask

            def causal(b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
                return q_idx >= kv_idx

            self._masks[key] = create_block_mask(
                causal, None, None, case.seq_len, case.seq_len, device=str(device)
            )
        return self._masks[key]

    def setup(self, inputs: Inputs, case: Case) -> None:
        """Build the block mask, then compile in the timed mode (:func:`compile_as_timed`)."""
        if self._compiled is None:
            self._compiled = compiled_flex_attention(_softmax_flex_entry)
        self._block_mask(case, inputs["q"].device)
        compile_as_timed(self, inputs, case)

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        if self._compiled is None:
            self._compiled = compiled_flex_attention(_softmax_flex_entry)
        mask = self._block_mask(case, inputs["q"].device)
        out = self._compiled(inputs["q"], inputs["k"], inputs["v"], mask)
        assert isinstance(out, torch.Tensor)
        return out

    def backend(self, inputs: Inputs, case: Case) -> str:
        return "flex.compiled"
