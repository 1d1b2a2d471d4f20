"""Gate settings: thresholds, metrics, floors and ignores, from flags and a policy file.

A policy file is YAML checked into the user's repository and validated like a suite (every
mistake reported as ``file:line:column`` with a did-you-mean, exit 2)::

    version: 1
    max_regression: 5%          # default threshold ("5%" or 0.05)
    metric: time/median_ms      # default metric (any catalog metric with a direction)
    floor_ms: 0.001             # absolute floor for time metrics, milliseconds
    rules:                      # applied in order; a later matching rule wins per key
      - variant: sinkhorn.*     # glob on the variant name
        max_regression: 15%
      - match: "*-n16384-*"     # glob on the case id
        ignore: true
        reason: too noisy on the shared runner

Precedence for each case: the last matching rule, then the command-line flag, then the
policy's top-level value, then the built-in default.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, replace
from pathlib import Path

from attnbench.errors import InputError, SuiteError
from attnbench.metrics.catalog import CATALOG
from attnbench.suite.fields import Reader, suggest
from attnbench.suite.yamlpos import YNode, parse

DEFAULT_MAX_REGRESSION = 0.05
DEFAULT_METRIC = "time/median_ms"
DEFAULT_FLOOR_MS = 0.001
"""1 µs: twice the resolution of CUDA events (0.5 µs), far above perf_counter_ns."""
POLICY_VERSION = 1

TOP_KEYS = ("version", "max_regression", "metric", "floor_ms", "rules")
RULE_KEYS = ("match", "variant", "max_regression", "metric", "floor_ms", "ignore", "reason")


def gated_metrics() -> list[str]:
    """Catalog metrics that have a better direction (the ones a gate can judge)."""
    return [k for k, m in CATALOG.items() if m.direction != "none"]


def parse_fraction(value: object) -> float:
    """``"5%"`` → 0.05, ``"0.05"`` or ``0.05`` → 0.05, ``"150%"`` → 1.5.

    A bare number must be a fraction below 1 (write ``"200%"`` for 2.0), so ``5`` is
    never silently read as 500%.

    Raises:
        ValueError: with a message saying what was expected.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a percentage like 5% or a fraction like 0.05, got {value}")
    text = str(value).strip()
    percent = text.endswith("%")
    try:
        number = float(text[:-1] if percent else text)
    except ValueError:
        raise ValueError(
            f"expected a percentage like 5% or a fraction like 0.05, got {text!r}"
        ) from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"expected a non-negative threshold, got {text!r}")
    if percent:
        return number / 100
    if number >= 1:
        raise ValueError(
            f"{text!r} is ambiguous: write a percentage ({number:g}% or {number * 100:g}%) "
            "or a fraction below 1 (0.05 for 5%)"
        )
    return number


def check_metric(key: str) -> str:
    """``key`` if it is a catalog metric with a direction, else InputError with a guess."""
    choices = gated_metrics()
    if key in choices:
        return key
    if key in CATALOG:
        raise InputError(
            f"metric {key!r} has no better direction (it is informational); "
            f"choose one of: {', '.join(choices)}"
        )
    raise InputError(
        f"unknown metric {key!r}{suggest(key, choices)} (choose from: {', '.join(choices)})"
    )


@dataclass(frozen=True)
class CaseSettings:
    """How one case is judged: metric, threshold (fraction), time floor (ms), ignored."""

    metric: str = DEFAULT_METRIC
    max_regression: float = DEFAULT_MAX_REGRESSION
    floor_ms: float = DEFAULT_FLOOR_MS
    ignore: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Rule:
    """A policy rule: globs to match (either or both) and the settings it overrides."""

    match: str | None = None
    variant: str | None = None
    metric: str | None = None
    max_regression: float | None = None
    floor_ms: float | None = None
    ignore: bool | None = None
    reason: str = ""
    where: str = ""

    def applies(self, case_id: str, variant: str) -> bool:
        if self.match is not None and not fnmatch.fnmatchcase(case_id, self.match):
            return False
        return self.variant is None or fnmatch.fnmatchcase(variant, self.variant)

    def apply(self, base: CaseSettings) -> CaseSettings:
        out = base
        if self.metric is not None:
            out = replace(out, metric=self.metric)
        if self.max_regression is not None:
            out = replace(out, max_regression=self.max_regression)
        if self.floor_ms is not None:
            out = replace(out, floor_ms=self.floor_ms)
        if self.ignore is not None:
            out = replace(out, ignore=self.ignore, reason=self.reason if self.ignore else "")
        return out


@dataclass(frozen=True)
class Policy:
    """Top-level settings (None = not set) and the rules of a policy file."""

    path: str | None = None
    metric: str | None = None
    max_regression: float | None = None
    floor_ms: float | None = None
    rules: tuple[Rule, ...] = ()

    def defaults(
        self, metric: str | None, max_regression: float | None, floor_ms: float | None
    ) -> CaseSettings:
        """Settings before rules: each flag given on the command line, else the policy's."""

        def pick(flag: float | None, own: float | None, default: float) -> float:
            return flag if flag is not None else own if own is not None else default

        return CaseSettings(
            metric=metric or self.metric or DEFAULT_METRIC,
            max_regression=pick(max_regression, self.max_regression, DEFAULT_MAX_REGRESSION),
            floor_ms=pick(floor_ms, self.floor_ms, DEFAULT_FLOOR_MS),
        )

    def for_case(self, case_id: str, variant: str, defaults: CaseSettings) -> CaseSettings:
        """``defaults`` with every matching rule applied in order."""
        out = defaults
        for rule in self.rules:
            if rule.applies(case_id, variant):
                out = rule.apply(out)
        return out

    def unused_rules(self, cases: list[tuple[str, str]]) -> list[Rule]:
        """Rules that match none of ``cases`` (case id, variant): probably a typo."""
        return [r for r in self.rules if not any(r.applies(c, v) for c, v in cases)]


class _PolicyReader(Reader):
    def fraction(self, node: YNode, what: str) -> float:
        try:
            return parse_fraction(node.value if node.raw is None else node.raw)
        except ValueError as exc:
            self.fail(node, f"{what}: {exc}")

    def metric(self, node: YNode, what: str) -> str:
        text = self.text(node, what)
        try:
            return check_metric(text)
        except InputError as exc:
            self.fail(node, f"{what}: {exc}")

    def glob(self, node: YNode, what: str) -> str:
        text = self.text(node, what)
        if not text.strip():
            self.fail(node, f"{what} must not be empty")
        return text

    def rule(self, node: YNode, index: int) -> Rule:
        what = f"rules[{index}]"
        entries = self.mapping(node, what, RULE_KEYS)
        if "match" not in entries and "variant" not in entries:
            self.fail(
                node,
                f"{what} needs 'match' (a case-id glob) or 'variant' (a name glob)",
                "e.g. '- {variant: sinkhorn.*, max_regression: 15%}'",
            )
        if len(entries) == len({"match", "variant", "reason"} & set(entries)):
            self.fail(
                node,
                f"{what} matches cases but sets nothing",
                "add max_regression, metric, floor_ms or ignore",
            )
        return Rule(
            match=self.glob(entries["match"], f"{what}.match") if "match" in entries else None,
            variant=self.glob(entries["variant"], f"{what}.variant")
            if "variant" in entries
            else None,
            metric=self.metric(entries["metric"], f"{what}.metric")
            if "metric" in entries
            else None,
            max_regression=self.fraction(entries["max_regression"], f"{what}.max_regression")
            if "max_regression" in entries
            else None,
            floor_ms=self.number(entries["floor_ms"], f"{what}.floor_ms")
            if "floor_ms" in entries
            else None,
            ignore=self.boolean(entries["ignore"], f"{what}.ignore")
            if "ignore" in entries
            else None,
            reason=self.text(entries["reason"], f"{what}.reason") if "reason" in entries else "",
            where=f"{self.path}:{node.line}" if node.line is not None else self.path,
        )


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file.

    Raises:
        SuiteError: (exit 2) unreadable file, broken YAML, unknown key, wrong type, bad
            threshold or unknown metric, located at file:line:column.
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SuiteError("policy file not found", path=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"cannot read policy file: {exc}", path=name) from None
    root = parse(text, name)
    reader = _PolicyReader(name)
    if root is None:
        raise SuiteError("the policy file is empty", path=name, hint="start with 'version: 1'")
    entries = reader.mapping(root, "the policy", TOP_KEYS, {"version": "add 'version: 1'"})
    version = entries["version"]
    if version.value != POLICY_VERSION or isinstance(version.value, bool):
        reader.fail(version, f"version must be {POLICY_VERSION}, got {version.describe()}")
    rules_node = entries.get("rules")
    rules: tuple[Rule, ...] = ()
    if rules_node is not None:
        if not rules_node.is_list:
            reader.fail(
                rules_node, f"rules must be a list of mappings, got {rules_node.describe()}"
            )
        rules = tuple(reader.rule(n, i) for i, n in enumerate(rules_node.value))
    return Policy(
        path=name,
        metric=reader.metric(entries["metric"], "metric") if "metric" in entries else None,
        max_regression=reader.fraction(entries["max_regression"], "max_regression")
        if "max_regression" in entries
        else None,
        floor_ms=reader.number(entries["floor_ms"], "floor_ms") if "floor_ms" in entries else None,
        rules=rules,
    )
