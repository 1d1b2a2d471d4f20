"""YAML with positions: a safe-loaded tree in which every value knows where it came from.

:func:`parse` composes a document with :class:`yaml.SafeLoader` (never the full loader) and
turns the node graph into :class:`YNode` objects that keep the 1-based line and column of each
value and each mapping key, so the suite loader can point at the exact spot of a mistake.
:func:`parse_override` and :func:`apply_override` handle ``--set KEY=VALUE``: the value is
parsed as YAML too, and its nodes carry the override text as ``origin`` instead of a position.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from attnbench.errors import SuiteError


@dataclass(eq=False)
class YNode:
    """One YAML value and where it was written.

    Attributes:
        value: a Python scalar (str, int, float, bool, None, date), ``list[YNode]`` for a
            sequence or ``dict[str, YNode]`` for a mapping.
        line: 1-based line in the file; None for values from ``--set``.
        column: 1-based column in the file; None for values from ``--set``.
        origin: ``--set KEY=VALUE`` when the value came from an override, else None.
        raw: the source text of a plain (unquoted) scalar, e.g. ``off`` for a value YAML
            reads as ``False``; None for quoted scalars and collections.
        keys: for a mapping, the node of each key (positions of the keys themselves).
        parent_key: the key this value is written under, if any (where to point when
            something is missing from this value rather than wrong in it).
    """

    value: Any
    line: int | None = None
    column: int | None = None
    origin: str | None = None
    raw: str | None = None
    keys: dict[str, YNode] = field(default_factory=dict)
    parent_key: YNode | None = field(default=None, repr=False)

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    def describe(self) -> str:
        """The value as a user wrote it plus its kind, e.g. ``'abc' (a string)``."""
        if self.is_mapping:
            return "a mapping"
        if self.is_list:
            return "a list"
        return f"{self.plain()} ({kind(self.value)})"

    def plain(self) -> str:
        """The value in YAML-ish spelling: ``true``, ``null``, ``'abc'``, ``1.5``."""
        value = self.value
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return "null"
        if isinstance(value, str):
            return repr(value)
        return str(value)


def kind(value: Any) -> str:
    """Human name of a Python value's YAML type (``a string``, ``an integer``...)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return f"a {type(value).__name__}"


def error_at(node: YNode | None, path: str, message: str, hint: str | None = None) -> SuiteError:
    """A :class:`SuiteError` located at ``node`` (its file position or its ``--set`` text)."""
    if node is not None and node.origin is not None:
        return SuiteError(message, path=node.origin, hint=hint)
    line = node.line if node is not None else None
    column = node.column if node is not None else None
    return SuiteError(message, path=path, line=line, column=column, hint=hint)


def parse(text: str, path: str) -> YNode | None:
    """Parse one YAML document safely; None for an empty document.

    Raises:
        SuiteError: broken YAML (located at the parser's mark), several documents, or a
            mapping with a duplicate or non-scalar key.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return None
        check_expansion(node, path)
        return _Converter(path, None).convert(node)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, path, None) from exc
    except yaml.YAMLError as exc:  # unmarked: e.g. a reader error on control characters
        raise SuiteError(f"invalid YAML: {exc}", path=path) from exc
    except RecursionError:
        raise SuiteError(
            "the YAML is nested too deeply to be a suite",
            path=path,
            hint="a suite nests a few levels (axes, variants, params); flatten the document",
        ) from None


MAX_YAML_VALUES = 200_000
"""Most values a suite document may hold once its aliases (and ``<<`` merges) are expanded.

A real suite holds a few hundred. The count is made on the composed node graph, where an
alias is a shared node, with each node's expanded size memoised, so an alias bomb (a billion
laughs: every level repeats the one before several times) is refused in a walk over its few
distinct nodes, before anything is expanded.
"""


def check_expansion(root: Node, path: str, limit: int = MAX_YAML_VALUES) -> int:
    """The number of values ``root`` expands to; SuiteError beyond ``limit`` or on a cycle."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise SuiteError(
                "a YAML alias refers to the value that contains it (a recursive structure)",
                path=path,
                line=node.start_mark.line + 1,
                column=node.start_mark.column + 1,
                hint="an alias (*name) may only repeat a value defined before and outside it",
            )
        active.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        if total > limit:
            raise SuiteError(
                f"the YAML expands to more than {limit:,} values once its aliases (*name) "
                "are repeated (an alias bomb?); refused before expanding it",
                path=path,
                line=node.start_mark.line + 1,
                column=node.start_mark.column + 1,
                hint="a suite needs a few hundred values; write lists out or use fewer aliases",
            )
        sizes[key] = total
        return total

    return size(root)


def _syntax_error(exc: yaml.MarkedYAMLError, path: str, origin: str | None) -> SuiteError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "cannot parse"
    message = f"invalid YAML: {problem}"
    if exc.context:
        message += f" ({exc.context}"
        if exc.context_mark is not None and exc.context_mark is not mark and origin is None:
            message += f" at line {exc.context_mark.line + 1}"
        message += ")"
    if origin is not None:
        hint = "VALUE is read as YAML: write lists as [a, b] and quote text with ':' or '#'"
        return SuiteError(message, path=origin, hint=hint)
    hint = _syntax_hint(problem)
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return SuiteError(message, path=path, line=line, column=column, hint=hint)


def _syntax_hint(problem: str) -> str:
    if "\\t" in problem or "\t" in problem:
        return "YAML does not allow tabs for indentation; indent with spaces"
    if "expected a single document" in problem:
        return "a suite file holds exactly one YAML document; remove the extra '---'"
    return (
        "check the indentation, that ': ' (colon and space) separates each key from its "
        "value, and that brackets are closed; quote strings containing ':' or '#'"
    )


_PLAIN_TAGS = ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")


class _Converter:
    """Turns a composed node graph into :class:`YNode` objects."""

    def __init__(self, path: str, origin: str | None) -> None:
        self.path = path
        self.origin = origin
        self.constructor = SafeConstructor()

    def convert(self, node: Node) -> YNode:
        line = None if self.origin else node.start_mark.line + 1
        column = None if self.origin else node.start_mark.column + 1
        if isinstance(node, (SequenceNode, MappingNode)) and node.tag not in _PLAIN_TAGS:
            raise self._at(
                node,
                f"YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed in a "
                "suite",
                "a suite holds plain mappings, lists and scalars; remove the '!' tag",
            )
        if isinstance(node, SequenceNode):
            items = [self.convert(child) for child in node.value]
            return YNode(items, line, column, self.origin)
        if isinstance(node, MappingNode):
            out = YNode({}, line, column, self.origin)
            self._fill_mapping(node, out)
            return out
        assert isinstance(node, ScalarNode)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError, TypeError) as exc:  # e.g. 2024-02-31 as a date
            raise self._at(node, f"cannot read the value {node.value!r}: {exc}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self._at(
                node,
                f"non-finite number {node.value} is not allowed in a suite",
                "write a finite number (sizes, times and tolerances are all finite)",
            )
        raw = node.value if node.style is None else None
        return YNode(value, line, column, self.origin, raw)

    def _at(self, node: Node, message: str, hint: str | None = None) -> SuiteError:
        if self.origin is not None:
            return SuiteError(message, path=self.origin, hint=hint)
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        return SuiteError(message, path=self.path, line=line, column=column, hint=hint)

    def _fill_mapping(self, node: MappingNode, out: YNode) -> None:
        own: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self._key(key_node)
                if key in own:
                    first = own[key]
                    raise error_at(
                        self.convert(key_node),
                        self.path,
                        f"duplicate key {key!r} (first given at line {first})",
                        "each key may appear once in a mapping; remove or merge the repeats",
                    )
                own[key] = key_node.start_mark.line + 1
        self.constructor.flatten_mapping(node)  # resolves '<<' merge keys in place
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise error_at(
                    self.convert(key_node), self.path, "mapping keys must be plain names"
                )
            key = self._key(key_node)
            out.keys[key] = self.convert(key_node)
            out.value[key] = self.convert(value_node)
            out.value[key].parent_key = out.keys[key]

    @staticmethod
    def _key(node: ScalarNode) -> str:
        return str(node.value)  # the source text: `on:` stays 'on', never True


def parse_override(text: str, path: str) -> tuple[list[str], YNode]:
    """Split ``KEY=VALUE`` into the dotted key and the YAML-parsed value.

    Raises:
        SuiteError: no ``=``, an empty key segment or a value that is not valid YAML.
    """
    origin = f"--set {text}"
    key, sep, value = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(part.strip() for part in parts):
        raise SuiteError(
            "expected KEY=VALUE with a dotted KEY into the suite",
            path=origin,
            hint="e.g. --set axes.seq_len=[128,256] or --set timing.min_time_ms=50",
        )
    try:
        node = yaml.compose(value, Loader=yaml.SafeLoader)
        if node is not None:
            check_expansion(node, origin)
        parsed = _Converter(path, origin).convert(node) if node else YNode(None, origin=origin)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, path, origin) from exc
    except yaml.YAMLError as exc:
        raise SuiteError(f"invalid YAML: {exc}", path=origin) from exc
    except RecursionError:
        raise SuiteError("the value is nested too deeply", path=origin) from None
    return [part.strip() for part in parts], parsed


def apply_override(root: YNode, keys: Sequence[str], value: YNode, path: str) -> None:
    """Set ``value`` at the dotted ``keys`` in ``root``, creating mappings on the way.

    A list along the way is indexed by a number (``variants.0.params.iters=[1,5]``).

    Raises:
        SuiteError: a step goes through a scalar, or a list index is not a valid number.
    """
    node = root
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[:depth]) or "the top level"
        if not (node.is_list or node.is_mapping):
            raise error_at(
                value, path, f"cannot set {key!r}: {where} is {node.describe()}, not a mapping"
            )
        if node.is_list:
            slot: int | str = _list_index(node, key, where, value, path)
        else:
            slot = key
            if key not in node.value:
                node.value[key] = YNode({}, origin=value.origin)
                node.keys[key] = YNode(key, origin=value.origin)
        if last:
            node.value[slot] = value
        node = node.value[slot]


def _list_index(node: YNode, key: str, where: str, value: YNode, path: str) -> int:
    size = len(node.value)
    if key.isdigit() and int(key) < size:
        return int(key)
    raise error_at(
        value,
        path,
        f"{where} is a list of {size}; {key!r} is not an index into it",
        f"use a number from 0 to {size - 1}" if size else "the list is empty",
    )
