"""The README tells the truth: its commands exist and its Python example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from attnbench.cli import commands

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_in_the_readme_table_is_registered() -> None:
    documented = set(re.findall(r"^\| `attnbench (\w+)", README, flags=re.M))
    registered = {name for name, _ in commands.COMMANDS}
    assert documented == registered


def test_every_command_has_help() -> None:
    for name, fn in commands.COMMANDS:
        assert fn.__doc__ and fn.__doc__.strip(), name


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = re.search(r"```python\n(import attnbench.*?)```", README, flags=re.S)
    assert block is not None
    tiny = tmp_path / "suites" / "smoke.yaml"
    tiny.parent.mkdir()
    tiny.write_text(
        "version: 1\nname: tiny\naxes: {seq_len: [16], head_dim: 8}\nvariants: [softmax]\n"
        "timing: {warmup_ms: 1, min_samples: 2, min_time_ms: 1, max_time_s: 0.05}\n"
    )
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    run = namespace["run"]
    assert run.cases[0].status == "ok"  # type: ignore[attr-defined]
    assert tuple(namespace["out"].shape) == (1, 2, 128, 32)  # type: ignore[attr-defined]
