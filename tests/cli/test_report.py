"""``attnbench report``: files written, exponent table on stdout, exit 2 for bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from attnbench.results.store import save_results
from tests.cli.conftest import CliResult
from tests.report.conftest import sample_run
from tests.report.test_bundle import second_run, with_quartiles
from tests.report.test_forest import GOOD

Cli = Callable[..., CliResult]


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "h100.json", tmp_path / "a100.json"
    save_results(with_quartiles(sample_run()), first)
    save_results(second_run(), second)
    return first, second


def test_report_of_two_runs_writes_the_page_and_prints_exponents(
    cli: Cli, runs: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    result = cli("report", str(runs[0]), str(runs[1]), "--out", str(out))
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["index.html", "report.json", "time.png", "tflops.png", "memory.png", "energy.png"]
    )
    doc = json.loads((out / "report.json").read_text())
    assert [r["label"] for r in doc["runs"]] == ["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB"]
    lines = result.out.splitlines()
    assert lines[0] == "scaling exponents: time ∝ N^b"
    exponent = doc["exponents"][0]["fit"]["exponent"]
    row = next(line for line in lines if "softmax.sdpa" in line and "H100" in line)
    assert f" {exponent:.2f} " in row  # the exponent is a plain number
    assert "open " + str(out / "index.html") in result.err
    assert "note: ratio to baseline" in result.err


def test_labels_and_gate(cli: Cli, runs: tuple[Path, Path], tmp_path: Path) -> None:
    verdict = tmp_path / "verdict.json"
    verdict.write_text(json.dumps(GOOD))
    out = tmp_path / "rep"
    result = cli("report", str(runs[0]), str(runs[1]), "-o", str(out), "--label", "base",
                 "--label", "new", "--gate", str(verdict))
    assert result.code == 0, result.err
    doc = json.loads((out / "report.json").read_text())
    assert [r["label"] for r in doc["runs"]] == ["base", "new"]
    assert "forest.png" in doc["files"] and (out / "forest.png").is_file()
    assert doc["gate"]["threshold"] == 0.05
    assert "<h2>Gate verdict</h2>" in (out / "index.html").read_text()


def test_a_scaling_warning_is_printed_and_stored(cli: Cli, tmp_path: Path) -> None:
    run = with_quartiles(sample_run())
    for case in run.cases:
        if case.variant == "softmax.sdpa":
            case.models = {"time": "O(N)"}
    path = tmp_path / "r.json"
    save_results(run, path)
    result = cli("report", str(path), "--out", str(tmp_path / "rep"))
    assert result.code == 0
    assert "warning SCALING_ABOVE_CLAIM: softmax.sdpa" in result.err
    assert "SCALING_ABOVE_CLAIM" in result.out  # the table's warning column
    doc = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert {w["code"] for w in doc["warnings"]} == {"SCALING_ABOVE_CLAIM"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--label", "only-one"], "--label given 1 time(s) for 2 run(s)"),
        (["--gate", "{missing}"], "verdict file not found"),
        (["--gate", "{bad}"], "cases[0].ratio: expected a number"),
    ],
)
def test_bad_arguments_exit_2(
    cli: Cli, runs: tuple[Path, Path], tmp_path: Path, extra: list[str], message: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cases": [{"case_id": "a", "verdict": "same", "ratio": "x"}]}))
    args = [a.format(missing=tmp_path / "nope.json", bad=bad) for a in extra]
    result = cli("report", str(runs[0]), str(runs[1]), "--out", str(tmp_path / "rep"), *args)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "rep").exists()  # nothing written before the input was checked


def test_out_that_is_a_file_or_a_foreign_directory_exits_2_untouched(
    cli: Cli, runs: tuple[Path, Path], tmp_path: Path
) -> None:
    result = cli("report", str(runs[0]), "--out", str(runs[1]))
    assert result.code == 2 and "is not a directory" in result.err
    assert json.loads(runs[1].read_text())["schema_version"]  # the result file is intact
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("mine")
    result = cli("report", str(runs[0]), "--out", str(site))
    assert result.code == 2 and "not written by attnbench report" in result.err
    assert (site / "index.html").read_text() == "mine"


def test_a_bad_result_file_exits_2(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "r.json"
    bad.write_text("{nope")
    result = cli("report", str(bad), "--out", str(tmp_path / "rep"))
    assert result.code == 2 and "r.json:1:2: not valid JSON" in result.err


def test_report_of_a_real_cpu_run(cli: Cli, tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert cli("run", str(tiny_suite), "--device", "cpu", "--out", str(out), "-q").code == 0
    result = cli("report", str(out), "--out", str(tmp_path / "rep"))
    assert result.code == 0, result.err
    doc = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert {row["variant"] for row in doc["exponents"]} == {"softmax.naive", "softmax.sdpa_math"}
    assert all(row["fit"]["points"] == 2 for row in doc["exponents"])  # n32 and n47


def test_other_commands_start_without_matplotlib() -> None:
    import subprocess
    import sys

    code = "import sys, attnbench.cli; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
