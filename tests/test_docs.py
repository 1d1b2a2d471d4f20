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
    for name, target in commands.COMMANDS:
        fn = commands.load(target)
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


def test_readme_suite_is_the_shipped_long_context_suite() -> None:
    import yaml

    block = re.search(r"```yaml\n(version: 1\nname: long_context.*?)```", README, flags=re.S)
    assert block is not None
    shipped = (ROOT / "suites" / "long_context.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(block.group(1)) == yaml.safe_load(shipped)


def test_docs_stay_inside_the_repository() -> None:
    assert "../shared" not in README and "reference/variants.md" not in README
    for path in (ROOT / "attnbench").rglob("*.py"):
        assert "reference/variants.md" not in path.read_text(encoding="utf-8"), path


def test_every_variant_family_documents_its_math() -> None:
    import ast

    from attnbench import variants

    for family in variants.families():
        source = (ROOT / "attnbench" / "variants" / f"{family}.py").read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(source)) or ""
        assert len(doc.splitlines()) >= 5, family


def test_readme_exit_codes_and_benchmark_commands() -> None:
    assert re.search(r"^\| 130 \| interrupted", README, flags=re.M)
    for line in README.splitlines():
        if "benchmarks/" in line and line.lstrip().startswith(("python", ".venv")):
            assert line.lstrip().startswith(".venv/bin/python "), line
    for path in (ROOT / "benchmarks").glob("*.py"):
        assert not re.search(r"^\s+python benchmarks/", path.read_text(encoding="utf-8"),
                             flags=re.M), path


def test_long_context_header_does_not_promise_skips_on_cpu() -> None:
    text = (ROOT / "suites" / "long_context.yaml").read_text(encoding="utf-8")
    header = text.split("version:")[0]
    assert "recorded as skipped" not in header and "they are not\n# skipped" in header
