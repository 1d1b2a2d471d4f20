"""Every metric key attnbench writes: its unit, which direction is better, and a description.

The catalog is copied into each result file (``metric_catalog``) so a file explains itself,
and compare/gate read directions from it rather than guessing from names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Direction = Literal["lower", "higher", "none"]


@dataclass(frozen=True)
class Metric:
    """One metric: ``key`` (with unit suffix), ``unit``, better ``direction``, description."""

    key: str
    unit: str
    direction: Direction
    description: str


_METRICS = [
    Metric("time/median_ms", "ms", "lower", "median device time per call (the headline)"),
    Metric("time/min_ms", "ms", "lower", "fastest sample, per call"),
    Metric("time/max_ms", "ms", "lower", "slowest sample, per call"),
    Metric("time/mean_ms", "ms", "lower", "mean device time per call"),
    Metric("time/q1_ms", "ms", "lower", "first quartile per call"),
    Metric("time/q3_ms", "ms", "lower", "third quartile per call"),
    Metric("time/stdev_ms", "ms", "lower", "sample standard deviation per call"),
    Metric("time/rel_iqr", "fraction", "lower", "(q3 - q1) / median: the noise estimate"),
    Metric("time/samples", "count", "none", "samples kept"),
    Metric("time/calls_per_sample", "count", "none", "calls per timed block"),
    Metric("time/host_median_ms", "ms", "lower", "median host wall time per call"),
    Metric("time/setup_ms", "ms", "lower", "setup phase: compile, block masks (first call)"),
    Metric("time/warmup_ms", "ms", "none", "time spent warming up"),
    Metric("time/warmup_calls", "count", "none", "untimed warm-up calls"),
    Metric("time/warmup_trend", "ratio", "none",
           "last warm-up window's median over the one before (< 1: still getting faster)"),
    Metric("ratio/to_baseline", "ratio", "lower",
           "median of per-round time ratios to the group's baseline (paired rounds)"),
    Metric("ratio/ci_low", "ratio", "lower", "lower end of the 95% interval of ratio/to_baseline"),
    Metric("ratio/ci_high", "ratio", "lower", "upper end of the 95% interval of ratio/to_baseline"),
    Metric("ratio/pairs", "count", "none", "paired rounds behind ratio/to_baseline"),
    Metric("flops/count", "FLOP", "none", "matmul FLOPs per call by the variant's model"),
    Metric("flops/exp_count", "count", "none", "forward exp/sin/cos/log evaluations per call"),
    Metric("throughput/tflops", "TFLOP/s", "higher", "flops/count over the median time"),
    Metric("throughput/pct_peak", "%", "higher", "TFLOP/s as a share of the device's dense peak"),
    Metric("throughput/gbps", "GB/s", "higher", "modelled bytes moved over the median time"),
    Metric("throughput/tokens_per_s", "tokens/s", "higher", "B*N over the median time"),
    Metric(
        "throughput/pct_peak_bandwidth",
        "%",
        "higher",
        "GB/s as a share of the device's peak DRAM bandwidth (the figure that matters when "
        "the case is memory-bound, e.g. decoding)",
    ),
    Metric(
        "flops/intensity",
        "FLOP/byte",
        "none",
        "arithmetic intensity: flops/count over bytes/moved; below the ridge point the case is "
        "memory-bound",
    ),
    Metric(
        "device/ridge_flop_per_byte",
        "FLOP/byte",
        "none",
        "the device's ridge point: peak FLOP/s over peak bytes/s for the case dtype",
    ),
    Metric("bytes/moved", "bytes", "none", "modelled minimum bytes moved per call"),
    Metric("memory/peak_bytes", "bytes", "lower", "measured peak above the pre-call level"),
    Metric("memory/rss_peak_bytes", "bytes", "lower", "CPU resident-set peak above pre-call"),
    Metric("memory/peak_reserved_bytes", "bytes", "lower", "GPU allocator reserved peak"),
    Metric("memory/estimate_bytes", "bytes", "lower", "analytic forward working-memory estimate"),
    Metric("memory/inputs_bytes", "bytes", "none", "bytes held by the case's inputs"),
    Metric("error/max_abs", "abs", "lower", "max |out - reference| on the checked copy"),
    Metric("error/max_rel", "fraction", "lower", "max |out - reference| / max |reference|"),
    Metric("error/grad_max_rel", "fraction", "lower", "worst gradient error, relative"),
    Metric("energy/joules_per_call", "J", "lower", "energy per call over the energy window"),
    Metric("energy/joules_per_token", "J", "lower", "energy per call / (B*N)"),
    Metric("energy/window_s", "s", "none", "length of the energy window"),
    Metric(
        "energy/rel_error_bound", "fraction", "lower",
        "counter step period / window: bound on the energy's relative error",
    ),
    Metric("compile/setup_compiles", "count", "none", "torch.compile frames compiled in setup"),
    Metric(
        "compile/recompiles", "count", "lower",
        "torch.compile frames compiled after setup (warm-up, samples, memory, energy)",
    ),
    Metric("power/mean_w", "W", "lower", "mean power over the window"),
    Metric("power/max_w", "W", "lower", "max sampled power over the window"),
    Metric("power/idle_w", "W", "none", "idle power measured before the run"),
    Metric("clock/sm_min_mhz", "MHz", "higher", "lowest SM clock seen in the window"),
    Metric("clock/sm_mean_mhz", "MHz", "higher", "mean SM clock in the window"),
    Metric("clock/mem_mean_mhz", "MHz", "higher", "mean memory clock in the window"),
    Metric("temperature/max_c", "°C", "lower", "highest GPU temperature in the window"),
    Metric("utilization/gpu_mean_pct", "%", "none", "mean GPU utilisation in the window"),
    Metric("memory/device_used_max_bytes", "bytes", "none", "NVML memory used, max"),
    Metric("host/load_avg_1m", "load", "none", "host 1-minute load average after sampling"),
    Metric("host/invol_ctx_switches", "count", "none",
           "involuntary context switches of the process while sampling"),
    Metric("host/invol_ctx_switches_per_cpu_s", "1/s", "none",
           "involuntary context switches per CPU-second the process got while sampling"),
    Metric("host/cpu_utilisation", "fraction", "none",
           "process CPU time / (torch threads x wall time) while sampling"),
    Metric("host/threads", "count", "none", "torch intra-op threads while sampling"),
    Metric("telemetry/sample_period_ms", "ms", "none", "sampler period actually achieved"),
]

CATALOG: dict[str, Metric] = {m.key: m for m in _METRICS}


def metric(key: str) -> Metric:
    """The catalog entry for ``key``; unknown keys are informational with no unit."""
    return CATALOG.get(key, Metric(key, "", "none", "not in the catalog"))


def catalog_dict() -> dict[str, dict[str, Any]]:
    """JSON-ready copy of the catalog, as stored in result files."""
    return {k: {f: v for f, v in asdict(m).items() if f != "key"} for k, m in CATALOG.items()}
