"""Suite file v1 as frozen dataclasses (design §3.2).

A :class:`Suite` is what the loader produces from YAML and what :func:`expand` turns into
cases. Every list in ``axes`` and in a variant's ``params`` is an axis; the cases are the
product of all axes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SUITE_VERSION = 1
AXIS_NAMES: tuple[str, ...] = (
    "batch", "heads", "seq_len", "head_dim", "head_dim_v", "causal",
    "heads_kv", "seq_len_kv", "window",
)  # fmt: skip
SHAPE_AXES: tuple[str, ...] = ("heads_kv", "seq_len_kv", "window")
"""The GQA / cross-attention / window axes: in ``Suite.axes`` only when a suite sets them."""
AXIS_FORMS: tuple[str, ...] = ("zip", "tokens")
"""Keys of ``axes`` that shape the product instead of being an axis (suite level only)."""
DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N")
CHECK_MODES = ("reduced", "full", "off")
FLUSH_MODES = ("cold", "hot")
POWER_MODES = ("auto", "on", "off")
REQUIRED_AXES: tuple[str, ...] = ("seq_len", "head_dim")
AXIS_DEFAULTS: Mapping[str, tuple[Any, ...]] = {
    "batch": (1,),
    "heads": (8,),
    "head_dim_v": (None,),  # None: D_v = D
    "causal": (False,),
    "heads_kv": (None,),  # None: H_kv = H
    "seq_len_kv": (None,),  # None: N_kv = N
    "window": (None,),  # None: no sliding window
}
"""Values of the shape axes a suite may leave out (``seq_len`` and ``head_dim`` are required)."""


@dataclass(frozen=True)
class TimingSettings:
    """How samples are taken and when sampling stops (design §4).

    Attributes:
        warmup_ms: untimed warm-up budget per case, milliseconds (at least one call); warm-up
            then goes on while per-call times are still falling (``measure/timing.py``).
        min_samples: samples always taken before any stopping rule applies: a floor no time
            cap cuts below.
        min_time_ms: measured time always accumulated before stopping, milliseconds.
        max_time_s: hard cap on measured time per case, seconds (stop_reason ``max_time``).
        target_rel_iqr: stop once IQR/median of the samples is at or below this fraction.
        max_samples: hard cap on the sample count (stop_reason ``max_samples``).
        flush: GPU L2 handling between samples: ``cold`` (flushed, default) or ``hot``.
        cuda_graph: on GPU, replay the calls from a captured CUDA graph.
        interleave: measure the cases of a comparison group (same ``Case.group_key``)
            together, sampling the members in rotation; False: one case at a time.
        warmup_max_ms: cap on warm-up host time per case, milliseconds; reaching it while
            times still fall warns ``WARMUP_UNSTABLE``.
    """

    warmup_ms: float = 25.0
    min_samples: int = 10
    min_time_ms: float = 200.0
    max_time_s: float = 10.0
    target_rel_iqr: float = 0.01
    max_samples: int = 100_000
    flush: str = "cold"
    cuda_graph: bool = False
    interleave: bool = True
    warmup_max_ms: float = 500.0


@dataclass(frozen=True)
class PowerSettings:
    """Energy and telemetry settings (NVML on GPU).

    Attributes:
        enabled: ``auto`` (measure where possible, else record why not), ``on`` (required:
            exit 3 when unavailable), ``off``.
        min_window_s: shortest energy window, seconds; calls repeat to fill it.
        sample_period_ms: telemetry sampler period, milliseconds.
        cooldown_s: idle pause before each case, seconds (0 = none).
        idle_baseline_s: idle power measured before the run, seconds (0 = skip).
        throttle_fraction: ``THROTTLED`` when the SM clock falls below this fraction of the
            default (application) clock.
    """

    enabled: str = "auto"
    min_window_s: float = 1.0
    sample_period_ms: float = 50.0
    cooldown_s: float = 0.0
    idle_baseline_s: float = 0.0
    throttle_fraction: float = 0.9


@dataclass(frozen=True)
class CpuSettings:
    """CPU settings (``cpu:`` in a suite).

    Attributes:
        threads: torch intra-op threads (``torch.set_num_threads``) for the run; None keeps
            torch's default (one per core). ``attnbench run --threads N`` overrides it.
    """

    threads: int | None = None


@dataclass(frozen=True)
class VariantRef:
    """One entry of ``variants:``; ``name`` is the resolved ``family.impl``.

    Attributes:
        name: the resolved full name ``family.impl``.
        params: parameter name → its axis of values (only the parameters the suite sets).
        line: 1-based line of the entry in the suite file (None when built in code).
        axes: per-variant shape axes replacing the suite's (e.g. ``causal: (False,)``).
        dtypes: per-variant dtype axis replacing the suite's; None = the suite's.
        passes: per-variant pass axis replacing the suite's; None = the suite's.
        column: 1-based column of the entry (None when built in code).
    """

    name: str
    params: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    line: int | None = None
    axes: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    dtypes: tuple[str, ...] | None = None
    passes: tuple[str, ...] | None = None
    column: int | None = None

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]


@dataclass(frozen=True)
class Suite:
    """A loaded, validated suite.

    Attributes:
        name: suite name (also the default result file stem).
        description: free text.
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``.
        dtypes: dtype axis.
        passes: pass axis (``fwd``, ``bwd``, ``fwd_bwd``).
        axes: shape axes, each a tuple of values (keys from ``AXIS_NAMES``).
        variants: the variants to run, in suite order.
        timing: sampling settings.
        power: energy settings.
        cpu: CPU settings (torch threads).
        check: correctness check mode: ``reduced`` (capped copy), ``full``, ``off``.
        seed: input seed.
        baseline: the variant (``family.impl``) paired ratios are taken against; None means
            ``softmax.sdpa`` in the groups where it runs.
        path: file the suite came from (None when built in code).
        content_hash: sha256 hex of the parsed suite after ``--set`` overrides (comments and
            layout do not change it; see :mod:`attnbench.suite.digest`).
        document: the parsed suite as plain JSON values (what the hash covers); stored in
            result files so a refused ``--resume`` can say what changed.
        zips: groups of shape axes iterated in lockstep (``axes.zip``) instead of as a
            product; each group's axes have equal lengths.
        tokens: the constant-token axis (``axes.tokens``): batch = tokens / seq_len for each
            case; empty when batch is an axis of its own.
        positions: (line, column) of each key under ``axes`` in the suite file, where shape
            errors found at expansion point (empty for suites built in code).
    """

    name: str
    variants: tuple[VariantRef, ...]
    axes: Mapping[str, tuple[Any, ...]]
    description: str = ""
    version: int = SUITE_VERSION
    device: str = "auto"
    dtypes: tuple[str, ...] = ("fp32",)
    passes: tuple[str, ...] = ("fwd",)
    timing: TimingSettings = field(default_factory=TimingSettings)
    power: PowerSettings = field(default_factory=PowerSettings)
    cpu: CpuSettings = field(default_factory=CpuSettings)
    check: str = "reduced"
    seed: int = 0
    baseline: str | None = None
    path: str | None = None
    content_hash: str = ""
    zips: tuple[tuple[str, ...], ...] = ()
    tokens: tuple[int, ...] = ()
    positions: Mapping[str, tuple[int | None, int | None]] = field(default_factory=dict)
    document: Any = field(default=None, compare=False)
