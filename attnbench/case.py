"""The unit of work: one variant on one shape, dtype, mask and pass.

A :class:`Case` is a frozen description; it owns no tensors. ``case_id`` is stable and
readable (``cog.naive/b1-h16-n4096-d64-causal-bf16-fwd``) so results from different runs can
be matched by it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch

DTYPES: dict[str, str] = {
    "fp32": "float32",
    "fp16": "float16",
    "bf16": "bfloat16",
    "fp64": "float64",
}
"""Suite dtype names and the names of their torch dtypes (fp64 is for references and checks).

Names, not ``torch.dtype`` objects, so that describing a case (and so loading and validating
a suite) does not import torch.
"""

SUITE_DTYPES: tuple[str, ...] = ("fp32", "fp16", "bf16")
PASSES: tuple[str, ...] = ("fwd", "bwd", "fwd_bwd")
Pass = Literal["fwd", "bwd", "fwd_bwd"]


def _format_param(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "x".join(_format_param(v) for v in value)
    return str(value)


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


@dataclass(frozen=True)
class Case:
    """One benchmark case.

    Attributes:
        batch: B, sequences per call.
        heads: H, attention heads.
        seq_len: N, tokens per sequence (queries = keys).
        head_dim: D, width of each query/key head.
        causal: key j visible to query i iff j <= i.
        dtype: ``fp32`` | ``fp16`` | ``bf16`` (``fp64`` for references).
        params: variant parameters (``iters``, ``tau``...); missing ones take the variant default.
        variant: full registered name ``family.impl``; empty when used through the Python API.
        pass_: ``fwd`` | ``bwd`` | ``fwd_bwd``.
        head_dim_v: D_v, width of each value head; None means D_v = D.
        heads_kv: H_kv, key/value heads shared by groups of H/H_kv query heads (GQA; MQA at
            1); None means H_kv = H. Query head h reads key/value head h // (H/H_kv).
        seq_len_kv: N_kv, keys (and values) per sequence; None means N_kv = N. Decoding is
            ``seq_len=1`` against a long ``seq_len_kv``; cross-attention any N != N_kv.
        window: W, sliding window: key j is visible to query i iff |i' - j| <= W, or
            i' - W <= j <= i' when causal (FlashAttention's ``window_size=(W, W)`` / ``(W, 0)``);
            None means no window.

    Queries and keys are aligned bottom-right: query i sits at key position
    i' = i + N_kv - N, so under ``causal`` the last query sees every key (FlashAttention's
    convention; torch's ``is_causal`` aligns top-left and agrees only when N = N_kv).
    """

    batch: int
    heads: int
    seq_len: int
    head_dim: int
    causal: bool = False
    dtype: str = "fp32"
    params: Mapping[str, Any] = field(default_factory=dict)
    variant: str = ""
    pass_: str = "fwd"
    head_dim_v: int | None = None
    heads_kv: int | None = None
    seq_len_kv: int | None = None
    window: int | None = None

    def __post_init__(self) -> None:
        for name in ("batch", "heads", "seq_len", "head_dim"):
            value = getattr(self, name)
            if not _positive(value):
                raise ValueError(f"Case.{name} must be a positive integer, got {value!r}")
        for name in ("heads_kv", "seq_len_kv", "window"):
            value = getattr(self, name)
            if value is not None and not _positive(value):
                raise ValueError(f"Case.{name} must be a positive integer or None, got {value!r}")
        # the default spelled out is the default: one case, one id, one hash
        if self.heads_kv == self.heads:
            object.__setattr__(self, "heads_kv", None)
        if self.seq_len_kv == self.seq_len:
            object.__setattr__(self, "seq_len_kv", None)
        if self.heads % self.hkv:
            raise ValueError(
                f"Case.heads_kv ({self.hkv}) must divide heads ({self.heads}): each key/value "
                "head serves an equal group of query heads"
            )
        if self.masked and self.seq_len > self.nkv:
            raise ValueError(
                f"a causal or windowed case needs seq_len <= seq_len_kv (got {self.seq_len} > "
                f"{self.nkv}): aligned bottom-right, the first queries would see no key"
            )
        if self.dtype not in DTYPES:
            raise ValueError(f"Case.dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        if self.pass_ not in PASSES:
            raise ValueError(f"Case.pass_ must be one of {PASSES}, got {self.pass_!r}")
        object.__setattr__(self, "params", dict(self.params))

    def __hash__(self) -> int:
        return hash(
            (
                self.batch,
                self.heads,
                self.seq_len,
                self.head_dim,
                self.causal,
                self.dtype,
                tuple(sorted((k, repr(v)) for k, v in self.params.items())),
                self.variant,
                self.pass_,
                self.head_dim_v,
                self.heads_kv,
                self.seq_len_kv,
                self.window,
            )
        )

    @property
    def dv(self) -> int:
        """D_v, the value head width."""
        return self.head_dim_v if self.head_dim_v is not None else self.head_dim

    @property
    def hkv(self) -> int:
        """H_kv, the key/value head count (= H unless ``heads_kv`` is set)."""
        return self.heads_kv if self.heads_kv is not None else self.heads

    @property
    def nkv(self) -> int:
        """N_kv, keys per sequence (= N unless ``seq_len_kv`` is set)."""
        return self.seq_len_kv if self.seq_len_kv is not None else self.seq_len

    @property
    def group(self) -> int:
        """H / H_kv, query heads per key/value head (1 without GQA)."""
        return self.heads // self.hkv

    @property
    def is_gqa(self) -> bool:
        """Key/value heads are shared (H_kv < H)."""
        return self.hkv != self.heads

    @property
    def is_cross(self) -> bool:
        """Queries and keys differ in length (N != N_kv): cross-attention or decoding."""
        return self.nkv != self.seq_len

    @property
    def masked(self) -> bool:
        """Some query-key pair is hidden (causal or a window)."""
        return self.causal or self.window is not None

    @property
    def torch_dtype(self) -> torch.dtype:
        """The torch dtype of the inputs (imports torch)."""
        import torch

        dtype: torch.dtype = getattr(torch, DTYPES[self.dtype])
        return dtype

    @property
    def tokens(self) -> int:
        """B*N, query tokens processed per call (for J/token and tokens/s)."""
        return self.batch * self.seq_len

    @property
    def group_key(self) -> str:
        """The comparison-group key: the shape, dtype, mask and pass without variant or params.

        Cases with equal keys differ only in variant or variant parameters; they are measured
        together (interleaved) and kept together when a suite is sharded. Every shape axis is
        part of the key.
        The new shape axes appear only when they differ from their defaults (``hkv`` after
        ``h``, ``nkv`` after ``n``, ``w`` after the mask), so ids of cases that do not use
        them are unchanged: ``b1-h32-hkv4-n1-nkv8192-d128-causal-bf16-fwd``.
        """
        parts = [f"b{self.batch}", f"h{self.heads}"]
        if self.is_gqa:
            parts.append(f"hkv{self.hkv}")
        parts.append(f"n{self.seq_len}")
        if self.is_cross:
            parts.append(f"nkv{self.nkv}")
        parts.append(f"d{self.head_dim}")
        if self.head_dim_v is not None and self.head_dim_v != self.head_dim:
            parts.append(f"dv{self.head_dim_v}")
        parts.append("causal" if self.causal else "full")
        if self.window is not None:
            parts.append(f"w{self.window}")
        parts += [self.dtype, self.pass_]
        return "-".join(parts)

    @property
    def shape_id(self) -> str:
        """The shape part of the id: ``group_key`` plus the variant parameters."""
        parts = [self.group_key]
        parts += [f"{k}{_format_param(v)}" for k, v in sorted(self.params.items())]
        return "-".join(parts)

    @property
    def case_id(self) -> str:
        """Stable readable id, ``variant/shape_id``."""
        return f"{self.variant}/{self.shape_id}" if self.variant else self.shape_id

    def replace(self, **changes: Any) -> Case:
        """A copy with some fields changed (frozen dataclasses cannot be edited)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready description (what a result file stores as ``params``)."""
        out: dict[str, Any] = {
            "batch": self.batch,
            "heads": self.heads,
            "seq_len": self.seq_len,
            "head_dim": self.head_dim,
            "head_dim_v": self.dv,
            "causal": self.causal,
            "dtype": self.dtype,
            "pass": self.pass_,
        }
        # the new axes only where they are used, so older result files stay byte-identical
        if self.is_gqa:
            out["heads_kv"] = self.hkv
        if self.is_cross:
            out["seq_len_kv"] = self.nkv
        if self.window is not None:
            out["window"] = self.window
        out.update({k: v for k, v in sorted(self.params.items())})
        return out
