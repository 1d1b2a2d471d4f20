"""The sweep-defining parts of a suite: shape axes, dtype and pass axes, variant entries.

Each reader takes a :class:`~attnbench.suite.fields.Reader` and a
:class:`~attnbench.suite.yamlpos.YNode` and returns validated values or raises a located
:class:`~attnbench.errors.SuiteError`. Variant names are resolved through the registry and
their ``params`` checked against each parameter's :class:`~attnbench.variants.ParamSpec`;
with ``resolve=False`` the variant entries are read for their structure only, without the
registry (whose modules import torch), so the loader can refuse an oversized suite first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from attnbench.case import PASSES, SUITE_DTYPES
from attnbench.errors import UnknownVariantError
from attnbench.suite.fields import Reader, read_optional
from attnbench.suite.schema import (
    AXIS_DEFAULTS,
    AXIS_FORMS,
    AXIS_NAMES,
    REQUIRED_AXES,
    SHAPE_AXES,
    VariantRef,
)
from attnbench.suite.yamlpos import YNode

if TYPE_CHECKING:
    from attnbench.variants import ParamSpec, Variant

VARIANT_KEYS = ("name", "impl", "params", "axes", "dtype", "pass")
DTYPE_ALIASES = {"float32": "fp32", "float": "fp32", "float16": "fp16", "half": "fp16",
                 "bfloat16": "bf16"}  # fmt: skip
PASS_ALIASES = {"forward": "fwd", "backward": "bwd", "fwd+bwd": "fwd_bwd", "train": "fwd_bwd"}

Item = Callable[[YNode, str], Any]


def read_dtypes(r: Reader, node: YNode) -> tuple[str, ...]:
    """The dtype axis: one of ``fp32 | fp16 | bf16`` or a list of them."""
    item = partial(r.choice, choices=SUITE_DTYPES, aliases=DTYPE_ALIASES)
    return r.axis(node, "dtype", item, "dtype: [fp32, bf16]")


def read_passes(r: Reader, node: YNode) -> tuple[str, ...]:
    """The pass axis: one of ``fwd | bwd | fwd_bwd`` or a list of them."""
    item = partial(r.choice, choices=PASSES, aliases=PASS_ALIASES)
    return r.axis(node, "pass", item, "pass: [fwd, fwd_bwd]")


def read_axes(r: Reader, node: YNode, what: str, suite_level: bool) -> dict[str, tuple[Any, ...]]:
    """Shape axes; at suite level ``seq_len`` and ``head_dim`` are required, the rest default.

    A variant's ``axes`` (``suite_level=False``) returns only the axes it sets.
    """
    required = {name: f"add e.g. '{name}: {_EXAMPLES[name]}' under axes" for name in REQUIRED_AXES}
    entries = r.mapping(node, what, AXIS_NAMES, required if suite_level else None)
    out: dict[str, tuple[Any, ...]] = {}
    for name in AXIS_NAMES:
        if name in entries:
            example = f"{name}: {_EXAMPLES[name]}"
            out[name] = r.axis(entries[name], f"{what}.{name}", _axis_item(r, name), example)
        elif suite_level and name not in SHAPE_AXES:
            out[name] = AXIS_DEFAULTS[name]  # the shape axes default in expand, unlisted here
    return out


_EXAMPLES = {"batch": "[1, 4]", "heads": "[8, 16]", "seq_len": "[1024, 4096]",
             "head_dim": "[64, 128]", "head_dim_v": "[64]", "causal": "[false, true]",
             "heads_kv": "[8, 1]", "seq_len_kv": "[4096, 32768]", "window": "[null, 1024]",
             "tokens": "16384", "zip": "[batch, seq_len]"}  # fmt: skip
_NULLABLE = ("head_dim_v", "heads_kv", "seq_len_kv", "window")


def _axis_item(r: Reader, name: str) -> Item:
    if name == "causal":
        return r.boolean
    if name in _NULLABLE:
        return lambda node, what: None if node.value is None else r.integer(node, what)
    return r.integer


@dataclass(frozen=True)
class SuiteAxes:
    """What ``axes:`` holds at suite level (see :class:`~attnbench.suite.schema.Suite`)."""

    axes: dict[str, tuple[Any, ...]]
    zips: tuple[tuple[str, ...], ...]
    tokens: tuple[int, ...]
    positions: dict[str, tuple[int | None, int | None]]


def read_suite_axes(r: Reader, node: YNode) -> SuiteAxes:
    """The suite's ``axes``: the shape axes plus the ``zip`` and ``tokens`` forms.

    ``zip: [batch, seq_len]`` (or a list of such lists) iterates the named axes in lockstep;
    they must be set here and have equal lengths. ``tokens: 16384`` (an axis too) derives
    batch = tokens / seq_len for each case; batch may then not be set, and every seq_len must
    divide every tokens value.
    """
    required = {name: f"add e.g. '{name}: {_EXAMPLES[name]}' under axes" for name in REQUIRED_AXES}
    entries = r.mapping(node, "axes", (*AXIS_NAMES, *AXIS_FORMS), required)
    positions = {key: (kn.line, kn.column) for key, kn in node.keys.items()}
    shape = {key: value for key, value in entries.items() if key in AXIS_NAMES}
    axes = read_axes(r, YNode(shape, node.line, node.column, node.origin, keys=node.keys),
                     "axes", suite_level=True)  # fmt: skip
    tokens: tuple[int, ...] = ()
    if "tokens" in entries:
        tokens = r.axis(entries["tokens"], "axes.tokens", r.integer, "tokens: 16384")
        _check_tokens(r, entries, tokens)
    zips = _zips(r, entries["zip"], entries, tokens) if "zip" in entries else ()
    return SuiteAxes(axes, zips, tokens, positions)


def _check_tokens(r: Reader, entries: dict[str, YNode], tokens: tuple[int, ...]) -> None:
    if "batch" in entries:
        r.fail(
            entries["batch"].parent_key or entries["batch"],
            "axes.batch cannot be set together with axes.tokens: batch is derived as "
            "tokens / seq_len",
            "remove batch, or remove tokens and list the batch sizes",
        )
    seq = entries["seq_len"]
    for child in seq.value if seq.is_list else [seq]:
        n = child.value
        for t in tokens:
            if isinstance(n, int) and (t % n or t < n):
                r.fail(
                    child,
                    f"seq_len {n} does not divide tokens {t} (batch = tokens / seq_len must be "
                    "a positive integer)",
                    "use sequence lengths that divide the token count, e.g. powers of two",
                )


def _zips(
    r: Reader, node: YNode, entries: dict[str, YNode], tokens: tuple[int, ...]
) -> tuple[tuple[str, ...], ...]:
    example = "zip: [batch, seq_len], or zip: [[batch, seq_len], [heads, heads_kv]]"
    if not node.is_list or not node.value:
        r.fail(node, f"axes.zip must be a list of axis names, got {node.describe()}", example)
    groups = node.value if all(c.is_list for c in node.value) else [node]
    seen: dict[str, YNode] = {}
    out: list[tuple[str, ...]] = []
    for group in groups:
        names = tuple(_zip_name(r, child, entries, seen, tokens) for child in group.value)
        if len(names) < 2:
            r.fail(group, "a zip needs at least two axes to iterate together", example)
        lengths = {name: _length(entries[name]) for name in names}
        first = names[0]
        for name in names[1:]:
            if lengths[name] != lengths[first]:
                r.fail(
                    entries[name],
                    f"zipped axes must have equal lengths: {name} has {lengths[name]} values, "
                    f"{first} has {lengths[first]}",
                    f"zip pairs the i-th values of {', '.join(names)}; list as many of each",
                )
        out.append(names)
    return tuple(out)


def _zip_name(
    r: Reader,
    child: YNode,
    entries: dict[str, YNode],
    seen: dict[str, YNode],
    tokens: tuple[int, ...],
) -> str:
    name = r.choice(child, "an axis in zip", AXIS_NAMES)
    if name in seen:
        r.fail(child, f"zip lists axis {name!r} twice", "each axis may be zipped only once")
    if name == "batch" and tokens:
        r.fail(child, "batch cannot be zipped with axes.tokens set: it is derived")
    if name not in entries:
        r.fail(child, f"zip names {name!r}, which is not set under axes",
               f"add '{name}: [...]' with one value per zipped position")  # fmt: skip
    seen[name] = child
    return name


def _length(node: YNode) -> int:
    return len(node.value) if node.is_list else 1


def read_variants(r: Reader, node: YNode, *, resolve: bool = True) -> tuple[VariantRef, ...]:
    """The non-empty ``variants`` list; each entry a name or a mapping (see the loader).

    With ``resolve=False`` names stay as written and ``params`` are not read (no registry
    lookup, no torch import): the entries then give a lower bound of the suite's case count,
    exact when no entry sets ``params``.
    """
    if not node.is_list or not node.value:
        got = "an empty list" if node.is_list else node.describe()
        r.fail(
            node,
            f"variants must be a non-empty list of variant entries, got {got}",
            "e.g. 'variants: [softmax.sdpa, {name: softmax.streaming, params: {block_q: 128}}]'",
        )
    return tuple(_variant(r, child, i + 1, resolve) for i, child in enumerate(node.value))


def _variant(r: Reader, node: YNode, number: int, resolve: bool) -> VariantRef:
    if isinstance(node.value, str):
        name = _resolve(r, node, node.value, None) if resolve else node.value
        return VariantRef(name=name, line=node.line, column=node.column)
    if not node.is_mapping:
        r.fail(
            node,
            f"variant entry {number} must be a name or a mapping, got {node.describe()}",
            "write 'softmax.sdpa' or '{name: softmax, impl: streaming, params: {...}}'",
        )
    entries = r.mapping(
        node,
        f"variant entry {number}",
        VARIANT_KEYS,
        {"name": "add e.g. 'name: softmax.sdpa' to the entry"},
    )
    impl = r.text(entries["impl"], "impl") if "impl" in entries else None
    name = r.text(entries["name"], "name")
    params: dict[str, tuple[Any, ...]] = {}
    if resolve:
        from attnbench import variants

        name = _resolve(r, entries["name"], name, impl)
        params = read_optional(entries, "params", partial(_params, r, variants.get(name)), {})
    return VariantRef(
        name=name,
        params=params,
        line=node.line,
        column=node.column,
        axes=read_optional(
            entries, "axes", partial(read_axes, r, what=f"axes of {name}", suite_level=False), {}
        ),
        dtypes=read_optional(entries, "dtype", partial(read_dtypes, r), None),
        passes=read_optional(entries, "pass", partial(read_passes, r), None),
    )


def _resolve(r: Reader, node: YNode, name: str, impl: str | None) -> str:
    from attnbench import variants

    try:
        return variants.resolve(name, impl)
    except UnknownVariantError as exc:
        hint = "'attnbench list' shows every variant with its parameters"
        if impl is not None and "." in name:
            hint = f"give either 'name: family.impl' or 'name: family' with 'impl: {impl}'"
        r.fail(node, str(exc), hint)


def _params(r: Reader, variant: Variant, node: YNode) -> dict[str, tuple[Any, ...]]:
    info = variant.info
    allowed = [spec.name for spec in info.params]
    if not allowed and node.is_mapping and node.value:
        first = next(iter(node.value))
        r.fail(
            node.keys.get(first, node),
            f"{info.name} takes no parameters, got {first!r}",
            "remove 'params' from this entry",
        )
    entries = r.mapping(node, f"params of {info.name}", allowed)
    out: dict[str, tuple[Any, ...]] = {}
    for key, value in entries.items():
        spec = info.param_spec(key)
        assert spec is not None  # r.mapping allowed only known names
        if spec.type in (list, tuple) and value.is_list and not all(c.is_list for c in value.value):
            value = YNode([value], value.line, value.column, value.origin)  # one list value
        what = f"parameter {key} of {info.name}"
        example = f"{key}: [{spec.default!r}]"
        out[key] = r.axis(value, what, partial(_param_value, r, spec), example)
    return out


def _param_value(r: Reader, spec: ParamSpec, node: YNode, what: str) -> Any:
    value = node.value
    if node.is_mapping or (node.is_list and spec.type not in (list, tuple)):
        r.fail(node, f"{what} must be a single value here, got {node.describe()}")
    if node.is_list:
        value = spec.type(child.value for child in node.value)
    elif spec.type is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    problem = spec.problem(value)
    if problem:
        r.fail(
            node,
            f"bad value for {what}: {problem}",
            f"{spec.name}: {spec.description} (default {spec.default!r})",
        )
    return value
