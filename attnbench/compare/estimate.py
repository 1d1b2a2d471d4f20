"""The evidence for one case in two runs: ratio with interval, test, noise, absolute change.

Metrics backed by raw samples are judged on the samples: ``time/median_ms`` directly, and the
throughput metrics (``throughput/tflops``, ``/gbps``, ``/tokens_per_s``) as the reciprocal of
the median time (the work per call is the same when fingerprints match). Every other metric
has one value per case and is compared on that value alone, without a test.
"""

from __future__ import annotations

from dataclasses import dataclass

from attnbench.compare.stats import (
    RatioEstimate,
    mann_whitney_p,
    pooled_log_sd,
    ratio_of_medians,
)
from attnbench.metrics.stats import median
from attnbench.results.schema import CaseResult

TIME_METRIC = "time/median_ms"
INVERSE_OF_TIME = ("throughput/tflops", "throughput/gbps", "throughput/tokens_per_s")
SAMPLE_BACKED = (TIME_METRIC, *INVERSE_OF_TIME)


@dataclass(frozen=True)
class Evidence:
    """What two results of one case say about a metric.

    Attributes:
        baseline: the metric's value in the baseline file (None if not recorded).
        current: the metric's value in the current file.
        estimate: ``current / baseline`` of the metric with its 95% interval (canary-
            normalised when ``normalised``); None when no ratio exists.
        p: two-sided Mann–Whitney p on the raw samples; None for one-value metrics.
        p_run: two-sided p against the run-to-run noise (:mod:`attnbench.compare.noise`),
            set by the gate; None until then and for one-value metrics.
        sd_log: pooled robust standard deviation of the log samples (noise), or None.
        n_baseline / n_current: samples on each side (0 for one-value metrics).
        change_ms: absolute change of the median time, ms (normalised), or None.
        normalised: ratios were divided by the canary's.
        note: why something is missing, empty otherwise.
    """

    baseline: float | None
    current: float | None
    estimate: RatioEstimate | None
    p: float | None = None
    sd_log: float | None = None
    n_baseline: int = 0
    n_current: int = 0
    change_ms: float | None = None
    normalised: bool = False
    note: str = ""
    p_run: float | None = None

    @property
    def tested(self) -> bool:
        return self.p is not None

    @property
    def p_decision(self) -> float | None:
        """The p the gate adjusts: significant on the samples *and* against run-to-run noise."""
        if self.p is None:
            return None
        return self.p if self.p_run is None else max(self.p, self.p_run)


def _positive(samples: list[float]) -> bool:
    return len(samples) >= 1 and min(samples) > 0


def _scalar(base: CaseResult, current: CaseResult, metric: str, note: str) -> Evidence:
    b, c = base.metric(metric), current.metric(metric)
    if b is None or c is None:
        side = "baseline" if b is None else "current"
        return Evidence(b, c, None, note=f"{metric} not recorded in the {side} run")
    if b == c:
        return Evidence(b, c, RatioEstimate(1.0, 1.0, 1.0), note=note)
    if b <= 0 or c <= 0:
        ratio = float("inf") if b <= 0 < c else 0.0 if c <= 0 < b else 1.0
        return Evidence(b, c, RatioEstimate(ratio, ratio, ratio), note=note)
    r = c / b
    return Evidence(b, c, RatioEstimate(r, r, r), note=note)


def gather(
    base: CaseResult, current: CaseResult, metric: str, canary: RatioEstimate | None = None
) -> Evidence:
    """The evidence for ``metric`` of one case; ``canary`` (if given) normalises time."""
    if metric not in SAMPLE_BACKED:
        return _scalar(base, current, metric, "one value per case: judged on the value alone")
    if not (_positive(base.samples) and _positive(current.samples)):
        return _scalar(
            base, current, metric, "no raw samples in a file: judged on the stored value alone"
        )
    factor = canary.ratio if canary is not None else 1.0
    cur_samples = [s / factor for s in current.samples]
    time_est = ratio_of_medians(base.samples, current.samples)
    if canary is not None:
        time_est = time_est.divided(canary)
    estimate = time_est.inverted() if metric in INVERSE_OF_TIME else time_est
    b, c = base.metric(metric), current.metric(metric)
    if metric == TIME_METRIC:
        b = b if b is not None else median(base.samples)
        c = c if c is not None else median(current.samples)
    return Evidence(
        baseline=b,
        current=c,
        estimate=estimate,
        p=mann_whitney_p(base.samples, cur_samples),
        sd_log=pooled_log_sd(base.samples, cur_samples),
        n_baseline=len(base.samples),
        n_current=len(current.samples),
        change_ms=abs(median(cur_samples) - median(base.samples)),
        normalised=canary is not None,
    )
