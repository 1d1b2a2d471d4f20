"""Threshold parsing and the policy file loader: values, precedence, located errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from attnbench.compare.policy import (
    DEFAULT_FLOOR_MS,
    CaseSettings,
    Policy,
    Rule,
    check_metric,
    gated_metrics,
    load_policy,
    parse_fraction,
)
from attnbench.errors import InputError, SuiteError
from attnbench.metrics.catalog import CATALOG


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


# ------------------------------------------------------------ messages and edges, exactly
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5", "'5' is ambiguous: write a percentage (5% or 500%) or a fraction below 1 "
              "(0.05 for 5%)"),
        ("2.5", "'2.5' is ambiguous: write a percentage (2.5% or 250%) or a fraction below 1 "
                "(0.05 for 5%)"),
        ("abc", "expected a percentage like 5% or a fraction like 0.05, got 'abc'"),
        (True, "expected a percentage like 5% or a fraction like 0.05, got True"),
        ("-5%", "expected a non-negative threshold, got '-5%'"),
        ("inf", "expected a non-negative threshold, got 'inf'"),
        ("nan%", "expected a non-negative threshold, got 'nan%'"),
    ],
)  # fmt: skip
def test_parse_fraction_messages(text: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_fraction(text)
    assert str(info.value) == message


def test_parse_fraction_edges() -> None:
    assert parse_fraction(" 7% ") == pytest.approx(0.07)  # surrounding spaces are fine
    assert parse_fraction("100%") == 1.0
    assert parse_fraction(math.nextafter(1.0, 0.0)) == math.nextafter(1.0, 0.0)
    assert parse_fraction(0) == 0.0


def test_gated_metrics_are_the_catalog_metrics_with_a_direction() -> None:
    want = [k for k, m in CATALOG.items() if m.direction in ("lower", "higher")]
    assert gated_metrics() == want
    assert "time/median_ms" in want and "time/samples" not in want


def test_check_metric_messages_list_the_choices() -> None:
    choices = ", ".join(gated_metrics())
    with pytest.raises(InputError) as info:
        check_metric("time/samples")
    assert str(info.value) == (
        "metric 'time/samples' has no better direction (it is informational); "
        f"choose one of: {choices}"
    )
    with pytest.raises(InputError) as info:
        check_metric("time/medain_ms")
    assert str(info.value) == (
        "unknown metric 'time/medain_ms'; did you mean 'time/median_ms'? "
        f"(choose from: {choices})"
    )
    with pytest.raises(InputError) as info:
        check_metric("zzz")
    assert str(info.value) == f"unknown metric 'zzz' (choose from: {choices})"


def test_a_rule_applies_only_where_every_glob_it_has_matches() -> None:
    both = Rule(match="*-n64-*", variant="softmax.*")
    assert both.applies("softmax.naive/b1-n64-d8", "softmax.naive")
    assert not both.applies("softmax.naive/b1-n128-d8", "softmax.naive")
    assert not both.applies("sinkhorn.log/b1-n64-d8", "sinkhorn.log")
    assert Rule(match="*-n64-*").applies("x/b1-n64-d8", "anything")
    assert Rule(variant="soft*").applies("any id", "softmax.naive")
    assert not Rule(variant="soft*").applies("softmax.naive/x", "sinkhorn.log")
    assert Rule().applies("a", "b")  # no globs: every case
    # globs are case-sensitive
    assert not Rule(variant="Softmax.*").applies("x", "softmax.naive")


def test_a_rule_that_unignores_drops_the_reason() -> None:
    ignored = CaseSettings(ignore=True, reason="noisy")
    assert Rule(variant="*", ignore=False, reason="back").apply(ignored) == CaseSettings()
    assert Rule(variant="*", ignore=True, reason="flaky").apply(CaseSettings()) == CaseSettings(
        ignore=True, reason="flaky"
    )
    assert Rule(variant="*", metric="memory/peak_bytes", max_regression=0.2).apply(
        ignored
    ) == CaseSettings("memory/peak_bytes", 0.2, ignore=True, reason="noisy")


def test_later_rules_win_and_unused_rules_are_listed() -> None:
    first = Rule(variant="a*", max_regression=0.1)
    second = Rule(match="a/*", max_regression=0.2)
    unused = Rule(variant="zzz", ignore=True)
    policy = Policy(rules=(first, second, unused))
    assert policy.for_case("a/1", "a", CaseSettings()).max_regression == 0.2
    assert policy.for_case("b/1", "ab", CaseSettings()).max_regression == 0.1
    assert policy.unused_rules([("a/1", "a"), ("b/1", "ab")]) == [unused]
    assert policy.unused_rules([]) == [first, second, unused]


def test_policy_defaults_pick_flag_then_file_then_builtin() -> None:
    policy = Policy(max_regression=0.1, floor_ms=0.5)
    assert policy.defaults(None, None, None) == CaseSettings(max_regression=0.1, floor_ms=0.5)
    assert policy.defaults(None, 0.0, 0.0) == CaseSettings(max_regression=0.0, floor_ms=0.0)
    assert Policy(floor_ms=0.0).defaults(None, None, None).floor_ms == 0.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: true\n", ":1:10: version must be 1, got true (a boolean)"),
        ("", ": the policy file is empty\n  hint: start with 'version: 1'"),
        ("version: 1\nrules: {a: 1}\n", ":2:8: rules must be a list of mappings, got a mapping"),
        ("version: 1\nrules:\n  - max_regression: 5%\n",
         ":3:5: rules[0] needs 'match' (a case-id glob) or 'variant' (a name glob)\n"
         "  hint: e.g. '- {variant: sinkhorn.*, max_regression: 15%}'"),
        ("version: 1\nrules:\n  - {variant: x, reason: why}\n",
         ":3:5: rules[0] matches cases but sets nothing\n"
         "  hint: add max_regression, metric, floor_ms or ignore"),
        ("version: 1\nrules:\n  - {variant: x, max_regression: abc}\n",
         ":3:34: rules[0].max_regression: expected a percentage like 5% or a fraction like "
         "0.05, got 'abc'"),
        ("version: 1\nrules:\n  - {variant: '', ignore: true}\n",
         ":3:15: rules[0].variant must not be empty"),
        ("version: 1\nrules:\n  - {variant: x, metric: time/samples}\n",
         ":3:26: rules[0].metric: metric 'time/samples' has no better direction"),
        ("max_regression: 5%\n",
         ":1:1: the policy is missing the required key 'version'\n  hint: add 'version: 1'"),
        # a threshold is quoted back as written, not as YAML read it
        ("version: 1\nmax_regression: 1.50\n",
         ":2:17: max_regression: '1.50' is ambiguous: write a percentage (1.5% or 150%)"),
        ("version: 1\nrules:\n  - {match: [a], ignore: true}\n",
         ":3:13: rules[0].match must be a string, got a list"),
        ("version: 1\nrules:\n  - {variant: x, flor_ms: 1}\n",
         ":3:18: unknown key 'flor_ms' in rules[0]; did you mean 'floor_ms'?\n"
         "  hint: allowed keys in rules[0]: match, variant, max_regression, metric, floor_ms, "
         "ignore, reason"),
        ("version: 1\nrules:\n  - {variant: x, floor_ms: fast}\n",
         ":3:28: rules[0].floor_ms must be a number >= 0, got 'fast' (a string)"),
        ("version: 1\nrules:\n  - {variant: x, ignore: maybe}\n",
         ":3:26: rules[0].ignore must be true or false, got 'maybe' (a string)"),
        ("version: 1\nrules:\n  - {variant: x, ignore: true, reason: [a]}\n",
         ":3:40: rules[0].reason must be a string, got a list"),
    ],
)  # fmt: skip
def test_policy_messages_word_for_word(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SuiteError) as info:
        load_policy(path)
    assert str(info.value).startswith(f"{path}{message}"), str(info.value)


def test_an_unreadable_policy_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(SuiteError) as info:
        load_policy(bad)
    assert str(info.value).startswith(f"{bad}: cannot read policy file: 'utf-8' codec")
    with pytest.raises(SuiteError) as info:
        load_policy(tmp_path)  # a directory
    assert str(info.value).startswith(f"{tmp_path}: cannot read policy file: [Errno")
    with pytest.raises(SuiteError) as info:
        load_policy(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: policy file not found"


def test_a_full_rule_is_read_field_by_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nrules:\n  - match: 'a/*'\n    variant: 'a*'\n    metric: throughput/tflops\n"
        "    max_regression: 12%\n    floor_ms: 0.25\n    ignore: false\n    reason: r\n",
    )
    (rule,) = load_policy(path).rules
    assert rule == Rule("a/*", "a*", "throughput/tflops", 0.12, 0.25, False, "r", f"{path}:3")
    top = load_policy(write(tmp_path, "version: 1\nmetric: memory/peak_bytes\n"))
    assert (top.metric, top.max_regression, top.floor_ms, top.rules) == (
        "memory/peak_bytes", None, None, ()
    )  # fmt: skip


def test_a_quoted_threshold_is_read_as_its_text(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, 'version: 1\nmax_regression: "7%"\nrules:\n'
                                         "  - {variant: x, max_regression: '0.25'}\n"))
    assert policy.max_regression == pytest.approx(0.07)
    assert policy.rules[0].max_regression == 0.25
    assert policy.path == str(tmp_path / "gate.yaml")


def test_a_rule_without_a_reason_has_an_empty_one(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nrules:\n  - {variant: x, ignore: true}\n")
    (rule,) = load_policy(path).rules
    assert rule == Rule(variant="x", ignore=True, where=f"{path}:3")
    assert rule.apply(CaseSettings()) == CaseSettings(ignore=True, reason="")
