"""``attnbench compare`` through the real entry point: side by side, means, partial cases."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import CliResult
from tests.compare.helpers import case, check_golden, run, samples, save

Cli = Callable[..., CliResult]
V, S = "softmax.naive", "softmax.sdpa"


@pytest.fixture(autouse=True)
def _width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)


def _three(tmp_path: Path) -> list[Path]:
    gpu = {"kind": "cuda"}
    a = run(
        [
            case(V, 64, samples(1.0, 30, 0.02, 1), extra={"memory/peak_bytes": 2048.0}),
            case(V, 128, samples(2.0, 30, 0.02, 2)),
            case(S, 64, samples(0.5, 30, 0.02, 3)),
            case(S, 128, samples(0.9, 30, 0.02, 4)),
        ],
        device="NVIDIA A100-SXM4-80GB",
        **gpu,
    )
    b = run(
        [
            case(V, 64, samples(0.5, 30, 0.02, 5), extra={"memory/peak_bytes": 2048.0}),
            case(V, 128, samples(1.0, 30, 0.02, 6)),
            case(S, 64, samples(0.2, 30, 0.02, 7)),
        ],
        device="NVIDIA H100 80GB HBM3",
        **gpu,
    )
    c = run(
        [
            case(V, 64, samples(0.4, 30, 0.02, 8), fingerprint="d" * 16),
            case(V, 128, samples(0.8, 30, 0.02, 9)),
            case(S, 64, samples(0.15, 30, 0.02, 10)),
            case(S, 128, status="oom", reason="CUDA out of memory"),
        ],
        device="NVIDIA B200",
        **gpu,
    )
    return [
        save(r, tmp_path / f"{name}.json") for r, name in ((a, "a100"), (b, "h100"), (c, "b200"))
    ]


def test_three_runs_json(cli: Cli, tmp_path: Path) -> None:
    paths = _three(tmp_path)
    result = cli("compare", *map(str, paths), "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert [r["label"] for r in data["runs"]] == [
        "NVIDIA A100-SXM4-80GB",
        "NVIDIA H100 80GB HBM3",
        "NVIDIA B200",
    ]
    first = data["cases"][0]
    h100 = first["runs"][1]["ratio"]
    assert h100["ci_low"] < h100["ratio"] < h100["ci_high"]
    assert h100["ratio"] == pytest.approx(0.5, rel=0.03)
    assert first["runs"][2]["code_changed"] is True
    assert sorted(data["partial"]) == [f"{S}/b1-h2-n128-d8-full-fp32-fwd"]
    means = {(g["variant"], g["run"]): g for g in data["geomean"]}
    assert means[(V, "NVIDIA H100 80GB HBM3")]["count"] == 2
    assert means[(S, "NVIDIA H100 80GB HBM3")]["count"] == 1  # n128 is not in every run
    assert means[(V, "NVIDIA H100 80GB HBM3")]["ratio"] == pytest.approx(0.5, rel=0.03)


def test_labels_fall_back_to_commit_then_file(cli: Cli, tmp_path: Path) -> None:
    a = save(run([case(V, 64, samples(1.0))], sha="aaaaaaaaaaaa1"), tmp_path / "x.json")
    b = save(run([case(V, 64, samples(1.0))], sha="bbbbbbbbbbbb2"), tmp_path / "y.json")
    c = save(run([case(V, 64, samples(1.0))], sha="bbbbbbbbbbbb2"), tmp_path / "z.json")

    def labels(*paths: Path) -> list[str]:
        out = cli("compare", *map(str, paths), "-f", "json").out
        return [r["label"] for r in json.loads(out)["runs"]]

    assert labels(a, b) == ["aaaaaaaaaa", "bbbbbbbbbb"]
    assert labels(b, c) == ["y.json", "z.json"]
    out = cli("compare", str(a), str(b), "--label", "main", "-f", "json").out
    assert [r["label"] for r in json.loads(out)["runs"]] == ["main", "bbbbbbbbbb"]


def test_golden_table_and_markdown(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three(tmp_path)
    monkeypatch.chdir(tmp_path)
    table = cli(
        "compare",
        "a100.json",
        "h100.json",
        "b200.json",
        "--label",
        "A100",
        "--label",
        "H100",
        "--label",
        "B200",
    )
    assert table.code == 0
    check_golden("compare_120.txt", table.out)
    assert max(len(line) for line in table.out.splitlines()) <= 120
    md = cli(
        "compare",
        "a100.json",
        "h100.json",
        "b200.json",
        "--label",
        "A100",
        "--label",
        "H100",
        "--label",
        "B200",
        "-f",
        "markdown",
    )
    check_golden("compare.md", md.out)


def test_csv_long_format(cli: Cli, tmp_path: Path) -> None:
    paths = _three(tmp_path)
    out = cli("compare", *map(str, paths), "-f", "csv").out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 11  # 4 + 3 + 4 cases
    h100 = [r for r in rows if r["run"] == "NVIDIA H100 80GB HBM3"]
    assert all(float(r["ci_low"]) <= float(r["ratio"]) <= float(r["ci_high"]) for r in h100)


def test_needs_two_files(cli: Cli, tmp_path: Path) -> None:
    paths = _three(tmp_path)
    result = cli("compare", str(paths[0]))
    assert result.code == 2 and "at least two" in result.err
    too_many = cli(
        "compare", str(paths[0]), str(paths[1]), "--label", "a", "--label", "b", "--label", "c"
    )
    assert too_many.code == 2
