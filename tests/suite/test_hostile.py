"""Hostile suites are answered quickly: bounded alias expansion, case limits before expansion."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from attnbench.errors import SuiteError
from attnbench.suite import yamlpos
from attnbench.suite.loader import load_suite_text
from tests.cli.conftest import CliResult

Cli = Callable[..., CliResult]
V = "version: 1\nname: s\naxes: {seq_len: [16, 32], head_dim: 8}\nvariants: [softmax.naive]\n"


def bomb(levels: int = 9, width: int = 10) -> str:
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n" + V


def test_alias_bomb_is_refused_before_anything_is_expanded(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    calls = []
    real = yamlpos._Converter.convert

    def counting(self: Any, node: Any) -> Any:
        calls.append(node)
        return real(self, node)

    monkeypatch.setattr(yamlpos._Converter, "convert", counting)
    with pytest.raises(SuiteError, match=r"bomb\.yaml:\d+:\d+: the YAML expands to more than "
                                         r"200,000 values") as info:
        load_suite_text(bomb(), "bomb.yaml")
    assert "alias" in str(info.value)
    assert calls == []  # refused on the node graph, nothing converted


def test_aliases_within_the_bound_still_work() -> None:
    text = "ns: &ns [16, 32]\n" + V.replace("[16, 32]", "*ns")
    with pytest.raises(SuiteError, match="unknown key 'ns'"):
        load_suite_text(text, "s.yaml")  # expanded fine; the extra key is then reported
    node = yaml.compose(bomb(levels=3, width=10), Loader=yaml.SafeLoader)
    assert yamlpos.check_expansion(node, "s.yaml") > 1000
    with pytest.raises(SuiteError, match="more than 1,000 values"):
        yamlpos.check_expansion(node, "s.yaml", limit=1000)


def test_merge_key_bomb_is_refused() -> None:
    lines = ["m0: &m0 {k: 1}"]
    for i in range(1, 40):
        lines.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}")
    with pytest.raises(SuiteError, match="expands to more than"):
        load_suite_text("\n".join(lines) + "\n" + V, "merge.yaml")


def test_an_alias_bomb_in_an_override_is_refused() -> None:
    value = "[" + ", ".join(["[" + ", ".join(["1"] * 10) + "]"] * 10) + "]"
    assert load_suite_text(V, "s.yaml")  # the suite itself is fine
    with pytest.raises(SuiteError):
        load_suite_text(V, "s.yaml", [f"axes.seq_len={value}"])


def _refuse_cases(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    made: list[int] = []

    def no_case(**kwargs: Any) -> None:
        made.append(1)
        raise AssertionError("a Case was built")

    monkeypatch.setattr(importlib.import_module("attnbench.suite.expand"), "Case", no_case)
    return made


def test_case_limit_is_arithmetic_and_before_enumeration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = ", ".join(str(16 + i) for i in range(100))
    text = (f"version: 1\nname: huge\naxes: {{seq_len: [{values}], head_dim: [{values}], "
            f"heads: [{values}], batch: [{values}]}}\nvariants: [softmax.naive]\n")
    made = _refuse_cases(monkeypatch)
    with pytest.raises(SuiteError, match=r"huge\.yaml: the suite expands to 100,000,000 cases, "
                                         r"more than the limit of 100,000"):
        load_suite_text(text, "huge.yaml")
    assert made == []


def test_case_limit_boundary_both_sides() -> None:
    four = V.replace("[16, 32]", "[16, 32, 48, 64]")
    assert load_suite_text(four, "s.yaml", max_total_cases=4).name == "s"
    with pytest.raises(SuiteError, match="expands to 4 cases, more than the limit of 3"):
        load_suite_text(four, "s.yaml", max_total_cases=3)


def test_validate_refuses_a_1e8_suite_and_an_alias_bomb_quickly(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = ", ".join(str(16 + i) for i in range(100))
    huge = tmp_path / "huge.yaml"
    huge.write_text(f"version: 1\nname: huge\naxes: {{seq_len: [{values}], head_dim: [{values}], "
                    f"heads: [{values}], batch: [{values}]}}\nvariants: [softmax.naive]\n")
    boom = tmp_path / "bomb.yaml"
    boom.write_text(bomb())
    made = _refuse_cases(monkeypatch)
    timings = {}
    for path, message in ((huge, "expands to 100,000,000 cases"),
                          (boom, "expands to more than 200,000 values")):
        started = time.perf_counter()
        r = cli("validate", str(path))
        timings[path.name] = time.perf_counter() - started  # reported, not asserted
        assert r.code == 2 and message in r.err and str(path) in r.err
    assert made == []
    print(f"validate refusal times (s): {timings}")


def test_max_total_cases_on_run(cli: Cli, tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text(V)
    r = cli("run", str(suite), "-d", "cpu", "--max-total-cases", "1", "-o",
            str(tmp_path / "r.json"))
    assert r.code == 2 and "expands to 2 cases, more than the limit of 1" in r.err
    assert not (tmp_path / "r.json").exists()


_PROBE = """
import sys, time
started = time.perf_counter()
from attnbench.cli import main
sys.argv = ["attnbench", "validate", sys.argv[1]]
try:
    main()
except SystemExit as exc:
    print(exc.code, "torch" in sys.modules, f"{time.perf_counter() - started:.3f}")
"""


@pytest.mark.parametrize("name", ["huge_suite.yaml", "alias_bomb.yaml"])
def test_a_fresh_process_refuses_hostile_suites_without_importing_torch(name: str) -> None:
    # Importing torch alone takes ~2 s on a cold 2-core machine; the refusal must not wait
    # for it. The wall time is printed, the import asserted (a timing would be flaky).
    path = Path(__file__).parents[1] / "cli" / "data" / "malformed" / name
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(path)],
                          capture_output=True, text=True, timeout=120)
    code, torch_loaded, seconds = proc.stdout.split()
    assert (code, torch_loaded) == ("2", "False"), proc.stderr
    assert name in proc.stderr
    print(f"{name}: refused in {seconds} s in a fresh process")


def test_params_make_the_early_count_a_lower_bound() -> None:
    values = ", ".join(str(16 + i) for i in range(400))
    text = (f"version: 1\nname: s\naxes: {{seq_len: [{values}], head_dim: [{values}]}}\n"
            "variants: [{name: softmax.streaming, params: {block_q: [16, 32]}}]\n")
    with pytest.raises(SuiteError, match="expands to at least 160,000 cases, more than"):
        load_suite_text(text, "s.yaml")


def test_the_exact_count_still_refuses_what_params_multiply_past_the_limit() -> None:
    values = ", ".join(str(16 + i) for i in range(200))
    text = (f"version: 1\nname: s\naxes: {{seq_len: [{values}], head_dim: [{values}]}}\n"
            "variants: [{name: softmax.streaming, params: {block_q: [16, 32, 64]}}]\n")
    with pytest.raises(SuiteError, match=r"expands to 120,000 cases, more than the limit"):
        load_suite_text(text, "s.yaml")
