"""Threshold parsing and the policy file loader: values, precedence, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from attnbench.compare.policy import (
    DEFAULT_FLOOR_MS,
    CaseSettings,
    Policy,
    Rule,
    check_metric,
    load_policy,
    parse_fraction,
)
from attnbench.errors import InputError, SuiteError


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5%", 0.05),
        ("0.05", 0.05),
        (0.05, 0.05),
        ("150%", 1.5),
        ("0%", 0.0),
        (" 10 % ".strip(), 0.10),
        ("0.999", 0.999),
    ],
)
def test_parse_fraction(text: object, value: float) -> None:
    assert parse_fraction(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5", "ambiguous"),
        ("1", "ambiguous"),
        ("-5%", "non-negative"),
        ("abc", "percentage"),
        ("nan", "non-negative"),
        (True, "percentage"),
    ],
)
def test_parse_fraction_rejects(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fraction(text)


def test_check_metric() -> None:
    assert check_metric("memory/peak_bytes") == "memory/peak_bytes"
    with pytest.raises(InputError, match="did you mean 'time/median_ms'"):
        check_metric("time/medain_ms")
    with pytest.raises(InputError, match="no better direction"):
        check_metric("time/samples")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    return path


GOOD = """\
version: 1
max_regression: 10%
metric: time/median_ms
floor_ms: 0.002
rules:
  - variant: sinkhorn.*
    max_regression: 0.2
  - match: "*-n4096-*"
    ignore: true
    reason: noisy on the runner
  - match: "sinkhorn.log/*"
    metric: memory/peak_bytes
"""


def test_load_and_precedence(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, GOOD))
    assert policy.max_regression == pytest.approx(0.10) and policy.floor_ms == 0.002
    assert len(policy.rules) == 3 and policy.rules[0].where.endswith("gate.yaml:6")
    # flags beat the policy's top level; rules beat flags
    defaults = policy.defaults(None, 0.03, None)
    assert defaults == CaseSettings("time/median_ms", 0.03, 0.002)
    s = policy.for_case("sinkhorn.log/b1-n1024", "sinkhorn.log", defaults)
    assert (s.metric, s.max_regression) == ("memory/peak_bytes", pytest.approx(0.2))
    ignored = policy.for_case("softmax.sdpa/b1-n4096-d64", "softmax.sdpa", defaults)
    assert ignored.ignore and ignored.reason == "noisy on the runner"
    assert policy.for_case("softmax.sdpa/b1-n1024", "softmax.sdpa", defaults) == defaults


def test_a_rule_sets_the_floor_and_the_policy_metric_is_the_default() -> None:
    rule = Rule(variant="x*", floor_ms=0.5)
    assert rule.apply(CaseSettings()) == CaseSettings(floor_ms=0.5)
    policy = Policy(metric="memory/peak_bytes")
    assert policy.defaults(None, None, None).metric == "memory/peak_bytes"
    assert policy.defaults("throughput/tflops", None, None).metric == "throughput/tflops"
    assert Policy().defaults("throughput/tflops", None, None).metric == "throughput/tflops"


def test_builtin_defaults_without_policy() -> None:
    assert Policy().defaults(None, None, None) == CaseSettings()
    assert CaseSettings().floor_ms == DEFAULT_FLOOR_MS


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "version: 1\nmax_regresion: 5%\n",
            ":2:1",
            "unknown key 'max_regresion' in the policy; did you mean 'max_regression'?",
        ),
        ("version: 1\nmax_regression: 5\n", ":2:17", ": max_regression: '5' is ambiguous"),
        (
            "version: 1\nmetric: time/medain_ms\n",
            ":2:9",
            ": metric: unknown metric 'time/medain_ms'; did you mean 'time/median_ms'?",
        ),
        (
            "version: 1\nrules:\n  - {variant: x, metric: [a]}\n",
            ":3:26",
            ": rules[0].metric must be a string, got a list",
        ),
        (
            "version: 1\nrules:\n  - {match: ' ', max_regression: 5%}\n",
            ":3:13",
            ": rules[0].match must not be empty",
        ),
        (
            "version: 1\nrules:\n  - {match: 'a*'}\n",
            ":3:5",
            "sets nothing\n  hint: add max_regression, metric, floor_ms or ignore",
        ),
        ("version: 2\n", ":1:10", "version must be 1"),
        ("max_regression: 5%\n", "", "missing the required key 'version'"),
        ("version: 1\nrules:\n  - max_regression: 5%\n", ":3:5", "needs 'match'"),
        ("version: 1\nrules:\n  - {match: 'a*'}\n", ":3:5", "sets nothing"),
        ("version: 1\nrules:\n  - {variant: x, ignore: maybe}\n", ":3:26", "true or false"),
        ("version: 1\nrules:\n  - {variant: x, flor_ms: 1}\n", ":3:18", "did you mean 'floor_ms'"),
        ("version: 1\nrules: {a: 1}\n", ":2:8", "must be a list"),
        ("version: 1\nfloor_ms: -1\n", ":2:11", "floor_ms must be a number >= 0"),
        ("version: 1\n  bad: [\n", ":2", "invalid YAML"),
        ("", "", "empty"),
    ],
)
def test_policy_errors_are_located(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SuiteError) as info:
        load_policy(path)
    rendered = str(info.value)
    assert rendered.startswith(f"{path}{where}"), rendered
    assert message in rendered
    assert info.value.exit_code == 2


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="policy file not found"):
        load_policy(tmp_path / "nope.yaml")
