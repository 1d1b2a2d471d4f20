"""``attnbench show``: every format, through a local app and through the real one."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from attnbench.cli.show import show_command
from attnbench.errors import ResultFileError
from attnbench.report import to_csv
from attnbench.results.store import dumps, load_results, save_results
from tests.report.conftest import GOLDEN, normalise, sample_run

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("show")(show_command)

    @app.callback()
    def main() -> None:
        """attnbench (test app)."""

    return app


@pytest.fixture
def run_file(tmp_path: Path) -> Path:
    return save_results(sample_run(), tmp_path / "run.json")


@pytest.fixture(autouse=True)
def _plain_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    """No terminal, no forced colour, no inherited width: output is the pipe layout."""
    for name in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


def test_table_is_the_default_and_matches_the_golden_file(run_file: Path) -> None:
    result = runner.invoke(_app(), ["show", str(run_file)])
    assert result.exit_code == 0, result.output
    assert normalise(result.stdout) == (GOLDEN / "run_120.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("flag", ["--format", "-f"])
def test_markdown(run_file: Path, flag: str) -> None:
    result = runner.invoke(_app(), ["show", str(run_file), flag, "markdown"])
    assert result.exit_code == 0, result.output
    assert normalise(result.stdout) == (GOLDEN / "run.md").read_text(encoding="utf-8")


def test_csv_is_case_insensitive(run_file: Path) -> None:
    result = runner.invoke(_app(), ["show", str(run_file), "-f", "CSV"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("case_id,variant,batch,heads,seq_len,head_dim")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(load_results(run_file).cases)
    sdpa = next(r for r in rows if r["case_id"] == "softmax.sdpa/b1-h16-n4096-d64-causal-bf16-fwd")
    assert (sdpa["time/median_ms"], sdpa["warnings"]) == ("0.1041", "HIGH_NOISE")  # as stored


def test_json_is_the_stored_dict(run_file: Path) -> None:
    result = runner.invoke(_app(), ["show", str(run_file), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(run_file.read_text(encoding="utf-8"))
    assert result.stdout == dumps(load_results(run_file))


def test_unknown_format_is_a_usage_error(run_file: Path) -> None:
    result = runner.invoke(_app(), ["show", str(run_file), "-f", "html"])
    assert result.exit_code == 2


def test_missing_file_raises_result_file_error(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["show", str(tmp_path / "nope.json")])
    assert isinstance(result.exception, ResultFileError)
    assert "result file not found" in str(result.exception)


def test_newer_file_raises_result_file_error(tmp_path: Path) -> None:
    data = sample_run().to_dict()
    data["schema_version"] = "99.0.0"
    path = tmp_path / "future.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(_app(), ["show", str(path)])
    assert isinstance(result.exception, ResultFileError)
    assert "Upgrade attnbench" in str(result.exception)


# Through the real application: needs ``show`` registered in attnbench.cli.commands.


def test_registered_in_the_app(run_file: Path) -> None:
    from attnbench.cli import app

    result = runner.invoke(app, ["show", str(run_file), "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout == to_csv(load_results(run_file))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "result file not found"),
        ("{not json", "not valid JSON"),
        ('{"schema_version": "99.0.0"}', "newer than this attnbench"),
    ],
)
def test_bad_file_exits_2_with_a_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    message: str,
) -> None:
    from attnbench.cli import main

    path = tmp_path / "run.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["attnbench", "show", str(path)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert message in " ".join(captured.err.split())  # the error console may wrap lines
    assert captured.out == ""


def test_ratio_to_prints_times_relative_to_a_variant(run_file: Path) -> None:
    result = runner.invoke(_app(), ["show", str(run_file), "--ratio-to", "softmax.sdpa"])
    assert result.exit_code == 0, result.output
    assert normalise(result.stdout).startswith(
        (GOLDEN / "run_120.txt").read_text(encoding="utf-8").rstrip("\n"))
    assert "time relative to softmax.sdpa" in result.stdout
    # the fixture run has no comparison groups: every ratio is the labelled unpaired one
    assert "unpaired: ratio of medians timed apart, NO interval" in result.stdout
    assert "cog.streaming" in result.stdout.split("relative to")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--ratio-to", "softmax.sdp"], "Did you mean 'softmax.sdpa'?"),
     (["--ratio-to", "softmax.sdpa", "-f", "csv"],
      "--ratio-to works with --format table or markdown")],
)
def test_ratio_to_mistakes_exit_2(
    run_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    args: list[str], message: str,
) -> None:
    from attnbench.cli import main

    monkeypatch.setattr("sys.argv", ["attnbench", "show", str(run_file), *args])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2
    assert message in " ".join(capsys.readouterr().err.split())


def test_markdown_with_ratio_to_a_family(run_file: Path) -> None:
    result = runner.invoke(_app(), ["show", str(run_file), "-f", "markdown", "--ratio-to", "cog"])
    assert result.exit_code == 0, result.output
    assert normalise(result.stdout).startswith((GOLDEN / "run.md").read_text(encoding="utf-8"))
    assert "**Median time relative to `cog.streaming`**" in result.stdout


def test_ratio_to_a_swept_variant_needs_a_pinned_value(
    run_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from attnbench.cli import main

    monkeypatch.setattr("sys.argv", ["attnbench", "show", str(run_file), "--ratio-to",
                                     "sinkhorn.log"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "sinkhorn.log[iters=1], sinkhorn.log[iters=5]" in err
    result = runner.invoke(_app(), ["show", str(run_file), "--ratio-to", "sinkhorn.log[iters=5]"])
    assert result.exit_code == 0, result.output
    assert "median time relative to sinkhorn.log[iters=5]" in " ".join(result.stdout.split())
