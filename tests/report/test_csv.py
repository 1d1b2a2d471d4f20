"""CSV export: columns, raw values, parsed back with the csv module."""

from __future__ import annotations

import csv
import io

from attnbench.report.csv import csv_columns, to_csv
from attnbench.results.schema import RunResult


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_columns(run_result: RunResult) -> None:
    columns = csv_columns(run_result)
    assert columns[:10] == [
        "case_id",
        "variant",
        "batch",
        "heads",
        "seq_len",
        "head_dim",
        "head_dim_v",
        "causal",
        "dtype",
        "pass",
    ]
    assert columns[10:13] == ["alpha", "beta", "iters"]  # variant parameters by name
    assert columns[13:18] == ["status", "reason", "backend", "stop_reason", "warnings"]
    metrics = columns[18:]
    assert metrics == sorted(metrics)
    assert set(metrics) == {k for c in run_result.cases for k in c.metrics}
    assert to_csv(run_result).splitlines()[0] == ",".join(columns)


def test_one_row_per_case_with_raw_numbers(run_result: RunResult) -> None:
    rows = {r["case_id"]: r for r in parse(to_csv(run_result))}
    assert len(rows) == len(run_result.cases)
    row = rows["softmax.sdpa/b1-h16-n4096-d64-causal-bf16-fwd"]
    assert row["variant"] == "softmax.sdpa"
    shape = (row["seq_len"], row["causal"], row["dtype"], row["pass"])
    assert shape == ("4096", "true", "bf16", "fwd")
    assert row["time/median_ms"] == "0.1041"
    stored = run_result.case(row["case_id"])
    assert stored is not None
    assert float(row["throughput/tflops"]) == stored.metrics["throughput/tflops"]  # exact
    assert row["warnings"] == "HIGH_NOISE"
    assert (row["status"], row["backend"], row["stop_reason"]) == ("ok", "sdpa.flash", "converged")
    assert row["iters"] == ""  # not a parameter of this variant


def test_non_ok_rows_keep_full_reason_and_empty_metrics(run_result: RunResult) -> None:
    rows = {r["case_id"]: r for r in parse(to_csv(run_result))}
    failed = rows["sinkhorn.log/b1-h16-n1024-d64-causal-bf16-fwd-iters5"]
    assert failed["status"] == "failed"
    assert failed["reason"].count("\n") == 1  # multi-line reason survives quoting
    assert failed["iters"] == "5"
    assert failed["time/median_ms"] == ""
    oom = rows["cog.naive/b1-h16-n16384-d64-full-bf16-fwd"]
    assert oom["memory/estimate_bytes"] == str(32.0 * 1024**3)


def test_warnings_joined_with_semicolons(run_result: RunResult) -> None:
    run_result.cases[0].warnings = ["HIGH_NOISE", "THROTTLED"]
    row = parse(to_csv(run_result))[0]
    assert row["warnings"] == "HIGH_NOISE;THROTTLED"


def test_empty_run_has_a_header_only() -> None:
    run = RunResult(suite={}, environment={}, settings={})
    assert to_csv(run) == "case_id,variant,status,reason,backend,stop_reason,warnings\n"
