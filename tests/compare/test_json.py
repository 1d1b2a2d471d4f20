"""The gate's JSON verdict field by field: keys are a contract, values recomputed here."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from attnbench.compare.drift import DRIFT_MARGIN, Drift
from attnbench.compare.gate import gate_runs
from attnbench.compare.noise import RunNoise
from attnbench.compare.policy import CaseSettings
from attnbench.compare.stats import RatioEstimate
from tests.compare.helpers import case, run, samples

V = "softmax.naive"

CASE_KEYS = {
    "case_id", "variant", "verdict", "metric", "direction", "max_regression", "floor_ms",
    "baseline", "current", "ratio", "ci_low", "ci_high", "p", "p_run", "p_adjusted", "mde",
    "samples_needed", "samples", "change_ms", "normalised", "reason",
}  # fmt: skip


def _gate() -> dict[str, Any]:
    base = run([case(V, 64, samples(1.0, 40, 0.02, 1)), case(V, 128, samples(2.0, 40, 0.02, 2))])
    cur = run([case(V, 64, samples(1.3, 30, 0.02, 3)), case(V, 128, samples(2.0, 40, 0.02, 4))])
    settings = CaseSettings(max_regression=0.05, floor_ms=0.001)
    return gate_runs(base, cur, defaults=settings).to_dict()


def test_every_case_field_with_its_value() -> None:
    data = _gate()
    slower, same = data["cases"]  # type: ignore[misc]
    assert set(slower) == CASE_KEYS and set(same) == CASE_KEYS
    b, c = samples(1.0, 40, 0.02, 1), samples(1.3, 30, 0.02, 3)
    ratio = float(np.median(c) / np.median(b))
    p = float(sps.mannwhitneyu(c, b, alternative="two-sided").pvalue)
    assert slower["case_id"] == f"{V}/b1-h2-n64-d8-full-fp32-fwd" and slower["variant"] == V
    assert slower["verdict"] == "slower" and slower["metric"] == "time/median_ms"
    assert slower["direction"] == "lower"
    assert (slower["max_regression"], slower["floor_ms"]) == (0.05, 0.001)
    assert slower["baseline"] == pytest.approx(float(np.median(b)))
    assert slower["current"] == pytest.approx(float(np.median(c)))
    assert slower["ratio"] == pytest.approx(ratio)
    assert slower["ci_low"] < ratio < slower["ci_high"]
    assert slower["p"] == pytest.approx(p)
    assert 0 <= slower["p_run"] < 0.05 and slower["p_adjusted"] >= max(p, slower["p_run"])
    assert slower["samples"] == [40, 30]
    assert slower["change_ms"] == pytest.approx(abs(np.median(c) - np.median(b)))
    assert slower["normalised"] is False and slower["reason"] == ""
    assert slower["mde"] is None and slower["samples_needed"] is None
    assert same["verdict"] == "same" and same["mde"] is not None and 0 < same["mde"] < 0.05


def test_overall_fields() -> None:
    data = _gate()
    assert data["format"] == "attnbench.gate/1" and data["exit_code"] == 1
    assert (data["baseline"], data["current"], data["strict"]) == ("baseline", "current", False)
    assert data["alpha"] == 0.05
    assert data["defaults"] == {"metric": "time/median_ms", "max_regression": 0.05,
                                "floor_ms": 0.001}  # fmt: skip
    assert data["counts"]["slower"] == 1 and data["counts"]["same"] == 1
    assert set(data["drift"]) == {  # type: ignore[arg-type]
        "available",
        "ratio",
        "ci_low",
        "ci_high",
        "moved",
        "normalised",
        "margin",
        "note",
    }
    noise = data["run_noise"]
    assert set(noise) == {"sd_log", "case_sd_log", "machine_sd_log", "cases", "checkpoints",
                          "shift_log", "shift_se_log", "bulk_cases", "case_dof", "machine_dof",
                          "note"}  # fmt: skip
    assert noise["checkpoints"] == 6 and noise["cases"] == 0  # type: ignore[index]
    # the canary did not move: one mean over both runs' six checkpoints, 5 degrees of freedom
    assert noise["machine_dof"] == 5 and noise["case_dof"] is None  # type: ignore[index]
    assert noise["shift_log"] is None and noise["shift_se_log"] is None  # type: ignore[index]
    assert [m["count"] for m in data["geomean"]] == [2]  # type: ignore[union-attr]


def test_drift_to_dict() -> None:
    est = RatioEstimate(1.2, 1.1, 1.3)
    assert Drift(est, True, "moved").to_dict() == {
        "available": True, "ratio": 1.2, "ci_low": 1.1, "ci_high": 1.3, "moved": True,
        "normalised": True, "margin": DRIFT_MARGIN, "note": "moved",
    }  # fmt: skip
    assert Drift(None, False, "no canary").to_dict() == {
        "available": False, "ratio": None, "ci_low": None, "ci_high": None, "moved": False,
        "normalised": False, "margin": DRIFT_MARGIN, "note": "no canary",
    }  # fmt: skip


def test_run_noise_to_dict() -> None:
    noise = RunNoise(0.03, 0.04, 12, 6, "line")
    assert noise.to_dict() == {
        "sd_log": pytest.approx(0.05), "case_sd_log": 0.03, "machine_sd_log": 0.04,
        "cases": 12, "checkpoints": 6, "shift_log": None, "shift_se_log": None, "note": "line",
        "bulk_cases": 0, "case_dof": None, "machine_dof": None,
    }  # fmt: skip
    counted = RunNoise(0.03, 0.04, 12, 6, "line", bulk=10, case_dof=7.38, machine_dof=4)
    assert {k: counted.to_dict()[k] for k in ("bulk_cases", "case_dof", "machine_dof")} == {
        "bulk_cases": 10, "case_dof": 7.38, "machine_dof": 4,
    }  # fmt: skip
    assert math.isclose(noise.sd_log, 0.05)
    shifted = RunNoise(0.03, 0.04, 12, 6, "line", shift_log=-0.02, shift_se_log=0.01)
    assert shifted.to_dict()["shift_log"] == -0.02 and shifted.to_dict()["shift_se_log"] == 0.01
