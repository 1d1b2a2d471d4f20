"""The contract every attention variant implements, and helpers the families share.

A variant is a small class with a frozen :class:`VariantInfo`, a ``forward`` that is timed, a
``reference`` written straight from the math (run in float64 on the CPU for correctness
checks), and analytic cost models. FLOPs count matmul work only, 2 per multiply-add; causal
halves the count only for kernels that skip masked work (``VariantInfo.skips_masked``);
exponentials are counted separately. Each family's module docstring states its math.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import torch

from attnbench.case import Case
from attnbench.errors import UnsupportedCase
from attnbench.variants._masks import case_pairs, expand_kv, keys_read, visible_mask

Inputs = dict[str, torch.Tensor]


@dataclass(frozen=True)
class ParamSpec:
    """One variant parameter (``iters``, ``tau``...), its default and its valid range."""

    name: str
    default: Any
    type: type
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None

    def problem(self, value: Any) -> str | None:
        """Return why ``value`` is not acceptable, or None when it is."""
        ok_types: tuple[type, ...] = (int, float) if self.type is float else (self.type,)
        if isinstance(value, bool) and self.type is not bool:
            return f"{self.name} must be {self.type.__name__}, got a boolean"
        if not isinstance(value, ok_types):
            return f"{self.name} must be {self.type.__name__}, got {type(value).__name__} {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"{self.name} must be one of {list(self.choices)}, got {value!r}"
        number = cast(float, value)
        if self.minimum is not None and number < self.minimum:
            return f"{self.name} must be >= {self.minimum}, got {value!r}"
        if self.maximum is not None and number > self.maximum:
            return f"{self.name} must be <= {self.maximum}, got {value!r}"
        return None


@dataclass(frozen=True)
class VariantInfo:
    """What ``attnbench list`` shows and what the runner needs to know about a variant.

    Attributes:
        name: ``family.impl``.
        summary: one line for humans.
        time_complexity: in N, e.g. ``O(N^2)``.
        memory_complexity: working memory in N, ``O(N^2)`` when an N×N tensor is materialised.
        extra_inputs: input keys beyond q, k, v (design §3.4: x, t, v2, w...).
        causal: whether a causal mask is meaningful and implemented.
        causal_note: why causal is rejected, when it is.
        backward: whether the kernel is differentiable (fwd_bwd and bwd passes).
        skips_masked: True for kernels that skip fully masked work, so causal halves FLOPs.
        params: the variant's parameters with defaults.
        flops_model: the FLOP formula, stored with every count.
        grad_inputs: input keys that receive gradients in bwd passes.
        bwd_multiplier: backward FLOPs as a multiple of forward (2.5 for SDPA-shaped kernels).
        gqa: runs H_kv < H by sharing key/value heads (``heads_kv``).
        cross: runs N_kv != N (``seq_len_kv``: cross-attention, decoding).
        window: honours a sliding window (``window``).
        skips_window: skips work outside the window, so FLOPs count only visible pairs.
        shape_note: why the shapes it rejects cannot run, shown with the rejection.
        alignment: how causal aligns queries and keys when N != N_kv (documentation).
    """

    name: str
    summary: str
    time_complexity: str = "O(N^2)"
    memory_complexity: str = "O(N^2)"
    extra_inputs: tuple[str, ...] = ()
    causal: bool = True
    causal_note: str = ""
    backward: bool = True
    skips_masked: bool = False
    params: tuple[ParamSpec, ...] = ()
    flops_model: str = "4BHN^2D"
    grad_inputs: tuple[str, ...] = ("q", "k", "v")
    bwd_multiplier: float = 2.5
    gqa: bool = False
    cross: bool = False
    window: bool = False
    skips_window: bool = False
    shape_note: str = ""
    alignment: str = "bottom-right"

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def impl(self) -> str:
        return self.name.split(".", 1)[1] if "." in self.name else ""

    def param_spec(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


class Variant(ABC):
    """Base class of every registered attention variant.

    Subclasses set ``info`` and implement ``forward``, ``reference`` and ``forward_flops``;
    the rest has defaults that fit softmax-shaped kernels.
    """

    info: ClassVar[VariantInfo]

    # ----------------------------------------------------------------- running
    def __call__(self, inputs: Inputs, case: Case) -> torch.Tensor:
        """``forward`` for a case this variant supports.

        Raises:
            UnsupportedCase: ``unsupported(case)`` says no (causal for a variant without a
                mask, an unknown or out-of-range parameter), with the message the CLI shows.

        The check runs once per case object: the case last found supported is remembered, so
        the timed loop, which passes the same case every call, pays one identity test.
        """
        if case is not self.__dict__.get("_supported_case"):
            self.require_supported(case)
        return self.forward(inputs, case)

    def require_supported(self, case: Case) -> None:
        """Raise :class:`UnsupportedCase` unless this variant can run ``case`` (any device)."""
        why = self.unsupported(case)
        if why:
            raise UnsupportedCase(why)
        self.__dict__["_supported_case"] = case

    @abstractmethod
    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        """The timed kernel: returns the output [B, H, N, Dv] in the inputs' dtype."""

    @abstractmethod
    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        """The math as written, for checks; called on float64 CPU copies of the inputs."""

    def setup(self, inputs: Inputs, case: Case) -> None:  # noqa: B027 - optional hook
        """One-time preparation (compilation, block masks); timed as its own phase."""

    def backend(self, inputs: Inputs, case: Case) -> str:
        """Which backend actually runs this case (``eager`` for plain torch ops)."""
        return "eager"

    def call_context(self, case: Case) -> AbstractContextManager[None]:
        """State the harness enters once around all of a case's calls, not per call.

        Used for per-call setup that would otherwise sit inside the timed region (pinning an
        SDPA backend costs ~40 µs of host time a call). The default does nothing.
        """
        return nullcontext()

    # ------------------------------------------------------------------ inputs
    def make_inputs(self, case: Case, device: str | torch.device = "cpu", seed: int = 0) -> Inputs:
        """Deterministic inputs: q [B,H,N,D], k [B,H_kv,N_kv,D], v [B,H_kv,N_kv,Dv] ~ N(0,1).

        Values are drawn in float32 on the CPU from ``seed`` (the same numbers on any device),
        then cast to the case dtype and moved to ``device``.
        """
        gen = torch.Generator().manual_seed(seed)
        b, h, n, d = case.batch, case.heads, case.seq_len, case.head_dim
        hkv, nkv = case.hkv, case.nkv
        inputs: Inputs = {
            "q": torch.randn(b, h, n, d, generator=gen),
            "k": torch.randn(b, hkv, nkv, d, generator=gen),
            "v": torch.randn(b, hkv, nkv, case.dv, generator=gen),
        }
        inputs = {key: t.to(case.torch_dtype) for key, t in inputs.items()}
        inputs.update(self.extra_inputs(case, gen))
        return {key: t.to(device) for key, t in inputs.items()}

    def extra_inputs(self, case: Case, gen: torch.Generator) -> Inputs:
        """Inputs beyond q, k, v, drawn from ``gen``; each in the dtype it needs."""
        return {}

    # --------------------------------------------------------------- parameters
    def param(self, case: Case, name: str) -> Any:
        """The case's value for parameter ``name``, or the variant default."""
        if name in case.params:
            return case.params[name]
        spec = self.info.param_spec(name)
        if spec is None:
            raise KeyError(f"{self.info.name} has no parameter {name!r}")
        return spec.default

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.info.params}

    def unsupported(self, case: Case, device: str | None = None) -> str | None:
        """Why this variant cannot run ``case``, or None when it can.

        ``device`` is None for device-independent checks (suite validation, exit 2) and
        ``cpu`` / ``cuda:N`` at run time, where a device-specific answer becomes ``skipped``.
        """
        if case.causal and not self.info.causal:
            return f"{self.info.name} does not support causal masking: {self.info.causal_note}"
        if case.pass_ != "fwd" and not self.info.backward:
            return f"{self.info.name} is not differentiable; only the fwd pass can be timed"
        why = self._shape_unsupported(case)
        if why:
            return why
        known = {p.name for p in self.info.params}
        for key, value in case.params.items():
            if key not in known:
                allowed = ", ".join(sorted(known)) or "none"
                return f"{self.info.name} has no parameter {key!r} (allowed: {allowed})"
            spec = self.info.param_spec(key)
            assert spec is not None
            problem = spec.problem(value)
            if problem:
                return problem
        return None

    def _shape_unsupported(self, case: Case) -> str | None:
        info = self.info
        note = f": {info.shape_note}" if info.shape_note else ""
        if case.is_gqa and not info.gqa:
            return (
                f"{info.name} does not share key/value heads (heads_kv {case.hkv} != heads "
                f"{case.heads}){note}"
            )
        if case.is_cross and not info.cross:
            return (
                f"{info.name} needs as many keys as queries (seq_len_kv {case.nkv} != seq_len "
                f"{case.seq_len}){note}"
            )
        if case.window is not None and not info.window:
            return f"{info.name} does not support a sliding window (window {case.window}){note}"
        return None

    # ------------------------------------------------------------- cost models
    @abstractmethod
    def forward_flops(self, case: Case) -> int:
        """Forward matmul FLOPs (2 per multiply-add) following ``info.flops_model``."""

    def flops(self, case: Case) -> int:
        """FLOPs of the case's pass: fwd, bwd = m×fwd, fwd_bwd = (1+m)×fwd, m = bwd_multiplier."""
        fwd = self.forward_flops(case)
        if case.pass_ == "bwd":
            return round(fwd * self.info.bwd_multiplier)
        if case.pass_ == "fwd_bwd":
            return round(fwd * (1.0 + self.info.bwd_multiplier))
        return fwd

    def pairs(self, case: Case) -> int:
        """Query-key pairs this variant computes per (batch, head): :func:`score_pairs`."""
        return score_pairs(case, self.info.skips_masked, self.info.skips_window)

    def exp_count(self, case: Case) -> int:
        """Forward transcendental evaluations (exp, sin, cos, log): B·H·(computed pairs)."""
        return case.batch * case.heads * self.pairs(case)

    def bytes_moved(self, case: Case) -> int:
        """Minimum forward bytes: read q, k, v once and write the output once.

        q and the output are [B, H, N, ·]; k and v [B, H_kv, N_kv, ·], of which a kernel that
        skips masked work reads only the keys some query can see (a window in decoding).
        """
        return qkvo_bytes(case, self.info.skips_masked and self.info.skips_window)

    def memory_bytes(self, case: Case) -> int:
        """Forward peak working memory above the inputs, in bytes (analytic estimate).

        Default: an N×N_kv score matrix per (B, H) in fp32 when the variant is O(N^2) in
        memory, plus the output; O(N) variants only hold the output and per-row statistics.
        """
        b, h, n = case.batch, case.heads, case.seq_len
        out = element_size(case.dtype) * b * h * n * case.dv
        if self.info.memory_complexity == "O(N^2)":
            return out + 4 * b * h * n * case.nkv
        return out + 4 * b * h * n * 2

    def tolerance(self, dtype: str) -> tuple[float, float]:
        """(atol, rtol) for comparing the output with the float64 reference.

        A check passes when max|out - ref| <= atol + rtol * max|ref|.
        """
        return DEFAULT_TOLERANCE[dtype]


DEFAULT_TOLERANCE: Mapping[str, tuple[float, float]] = {
    "fp64": (1e-10, 1e-10),
    "fp32": (2e-4, 2e-4),
    "fp16": (4e-3, 1e-2),
    "bf16": (3e-2, 2e-2),
}


def element_size(dtype: str) -> int:
    """Bytes per element of a suite dtype name."""
    return {"fp64": 8, "fp32": 4, "fp16": 2, "bf16": 2}[dtype]


def score_pairs(case: Case, skips_masked: bool, skips_window: bool = False) -> int:
    """Query-key pairs a kernel computes per (batch, head).

    N·N_kv for full attention and for kernels that compute the whole matrix and mask it;
    the visible pairs (N(N+1)/2 for square causal) for kernels that skip masked work. A
    window counts as skipped only when ``skips_window`` too (an explicit mask skips nothing).
    """
    if skips_masked and (case.window is None or skips_window):
        return case_pairs(case)
    return case.seq_len * case.nkv


def qkvo_bytes(case: Case, skips_keys: bool = False, values: int = 1) -> int:
    """Bytes of q and the output ([B, H, N, ·]) plus k and ``values`` value tensors
    ([B, H_kv, N_kv, ·]; only the keys some query sees when ``skips_keys``)."""
    e = element_size(case.dtype)
    b, h, n = case.batch, case.heads, case.seq_len
    keys = keys_read(case) if skips_keys else case.nkv
    query_side = h * n * (case.head_dim + case.dv)
    key_side = case.hkv * keys * (case.head_dim + values * case.dv)
    return e * b * (query_side + key_side)


def sdpa_flops(
    case: Case, skips_masked: bool, qk_dim: int | None = None, skips_window: bool = False
) -> int:
    """4BHN²D-style count: 2·pairs·D for QKᵀ plus 2·pairs·Dv for PV, per (B, H).

    GQA shares the key/value tensors, not the work: every query head still does its own
    products, so the count has H, never H_kv.
    """
    d = case.head_dim if qk_dim is None else qk_dim
    pairs = score_pairs(case, skips_masked, skips_window)
    return 2 * case.batch * case.heads * pairs * (d + case.dv)


def causal_mask(n_q: int, n_k: int, device: torch.device | str, q_offset: int = 0) -> torch.Tensor:
    """Boolean [n_q, n_k] mask, True where key j is visible to query i (j <= i + q_offset).

    Top-left aligned (the caller passes ``q_offset``); :func:`visible_mask` is the
    bottom-right, windowed form every GQA/cross-capable variant uses.
    """
    rows = torch.arange(q_offset, q_offset + n_q, device=device)[:, None]
    cols = torch.arange(n_k, device=device)[None, :]
    return cols <= rows


def default_scale(head_dim: int) -> float:
    """1/sqrt(D), the usual score scale."""
    return 1.0 / math.sqrt(head_dim)


def naive_softmax_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool,
    scale: float | None = None,
    window: int | None = None,
) -> torch.Tensor:
    """softmax(scale·QKᵀ + mask) V, materialising the N×N_kv matrix (any dtype).

    k, v may have fewer heads than q (GQA: expanded here, a copy) and another length (the
    mask is aligned bottom-right, see :mod:`attnbench.variants._masks`).
    """
    k, v = expand_kv(k, q.shape[-3]), expand_kv(v, q.shape[-3])
    s = (q @ k.transpose(-2, -1)) * (default_scale(q.shape[-1]) if scale is None else scale)
    keep = visible_mask(q.shape[-2], k.shape[-2], causal, window, q.device)
    if keep is not None:
        s = s.masked_fill(~keep, float("-inf"))
    return torch.softmax(s, dim=-1) @ v
