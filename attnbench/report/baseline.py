"""Which cases ``show --ratio-to`` divides by: the baseline, resolved explicitly.

A baseline is written ``VARIANT`` or ``VARIANT[KEY=VALUE,...]``:

* ``softmax.sdpa``: a variant of the run by its full name;
* ``cog``: a bare family name means the family's default implementation when the run has it
  (else the family's only implementation in the run);
* ``sinkhorn.naive[iters=5]``: a variant whose parameter was swept in the run, pinned to one
  value (values are YAML: ``5``, ``0.5``, ``true``, ``[1,2]``). A swept parameter left
  unpinned is an error that lists the choices, never a silent pick of the first value.

Each other ok case is then divided by the baseline's ok case of the same shape (batch, heads,
sequence length, head dims, causal, dtype, pass). Rows are shared by the console and Markdown
renderers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from attnbench.errors import InputError, did_you_mean
from attnbench.report.rows import ordered_cases, shape_key, variant_params
from attnbench.results.schema import STATUS_OK, CaseResult, RunResult

_SPEC = re.compile(r"^\s*([^\[\]\s]+)\s*(?:\[(.*)\])?\s*$")


@dataclass(frozen=True)
class Baseline:
    """A resolved baseline: the variant and the parameter values it is pinned to."""

    variant: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``variant`` or ``variant[key=value,...]``."""
        if not self.params:
            return self.variant
        pinned = ",".join(f"{k}={_plain(v)}" for k, v in self.params.items())
        return f"{self.variant}[{pinned}]"

    def matches(self, case: CaseResult) -> bool:
        """True for the baseline's own cases."""
        return case.variant == self.variant and all(
            case.params.get(k) == v for k, v in self.params.items()
        )


@dataclass(frozen=True)
class RatioRow:
    """One non-baseline ok case, its median and the baseline's at the same shape (or None)."""

    case: CaseResult
    median_ms: float
    baseline_ms: float | None

    @property
    def ratio(self) -> float | None:
        return None if self.baseline_ms is None else self.median_ms / self.baseline_ms


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_plain(v) for v in value) + "]"
    return str(value)


def parse_spec(text: str) -> tuple[str, dict[str, Any]]:
    """``"sinkhorn.naive[iters=5]"`` → ``("sinkhorn.naive", {"iters": 5})``."""
    match = _SPEC.match(text)
    if not match:
        raise InputError(
            f"--ratio-to {text!r}: write VARIANT or VARIANT[KEY=VALUE,...], "
            "e.g. --ratio-to sinkhorn.naive[iters=5]"
        )
    name, inner = match.group(1), match.group(2)
    params: dict[str, Any] = {}
    for part in _split(inner or ""):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--ratio-to {text!r}: {part!r} is not KEY=VALUE")
        try:
            params[key.strip()] = yaml.safe_load(value.strip())
        except yaml.YAMLError:
            raise InputError(f"--ratio-to {text!r}: {value!r} is not a YAML value") from None
    return name, params


def _split(inner: str) -> list[str]:
    """Split on commas outside brackets: ``a=1,b=[1,2]`` → ``["a=1", "b=[1,2]"]``."""
    parts, depth, current = [], 0, ""
    for char in inner:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return [p for p in parts if p.strip()]


def _resolve_name(name: str, present: list[str]) -> str:
    if name in present:
        return name
    family = [v for v in present if v.split(".", 1)[0] == name]
    if family:
        from attnbench import variants

        default = variants.families().get(name)
        if default in family:
            return str(default)
        if len(family) == 1:
            return family[0]
        raise InputError(
            f"--ratio-to {name!r}: the run has several {name} implementations and not the "
            f"family default ({default}); name one: {', '.join(family)}"
        )
    guess = did_you_mean(name, present)
    hint = f" Did you mean {guess!r}?" if guess else ""
    raise InputError(
        f"--ratio-to {name!r}: no such variant in this run.{hint} It has: {', '.join(present)}"
    )


def _choices(variant: str, cases: list[CaseResult], swept: list[str]) -> list[str]:
    combos = dict.fromkeys(
        tuple((k, _plain(c.params.get(k))) for k in swept) for c in cases
    )
    return [variant + "[" + ",".join(f"{k}={v}" for k, v in combo) + "]" for combo in combos]


def resolve_baseline(run: RunResult, spec: str) -> Baseline:
    """The baseline ``spec`` names in ``run`` (see the module docstring).

    Raises:
        InputError: malformed spec, unknown variant, an unknown or absent parameter value,
            or a swept parameter left unpinned (the message lists the choices).
    """
    name, pinned = parse_spec(spec)
    present = list(dict.fromkeys(c.variant for c in run.cases))
    variant = _resolve_name(name, present)
    own = [c for c in run.cases if c.variant == variant]
    known = sorted({k for c in own for k in variant_params(c.params)})
    swept = [k for k in known if len({repr(c.params.get(k)) for c in own}) > 1]
    for key, value in pinned.items():
        if key not in known:
            raise InputError(
                f"--ratio-to {spec!r}: {variant} has no parameter {key!r} in this run "
                f"(its parameters: {', '.join(known) or 'none'})"
            )
        if not any(c.params.get(key) == value for c in own):
            raise InputError(
                f"--ratio-to {spec!r}: no {variant} case has {key}={_plain(value)}; "
                f"choose one of: {', '.join(_choices(variant, own, [key]))}"
            )
    unpinned = [k for k in swept if k not in pinned]
    if unpinned:
        raise InputError(
            f"--ratio-to {spec!r}: {variant} was run with several values of "
            f"{', '.join(unpinned)}; choose the baseline explicitly, one of: "
            f"{', '.join(_choices(variant, own, swept))}"
        )
    return Baseline(variant, pinned)


def ratio_rows(run: RunResult, baseline: Baseline) -> list[RatioRow]:
    """Every ok case that is not the baseline, in report order, with the baseline's median."""
    cases = ordered_cases(run.cases)
    reference: dict[tuple[object, ...], float] = {}
    for case in cases:
        median = case.metric("time/median_ms")
        if baseline.matches(case) and case.status == STATUS_OK and median:
            reference.setdefault(shape_key(case.params), median)
    rows = []
    for case in cases:
        median = case.metric("time/median_ms")
        if baseline.matches(case) or case.status != STATUS_OK or median is None:
            continue
        rows.append(RatioRow(case, median, reference.get(shape_key(case.params))))
    return rows
