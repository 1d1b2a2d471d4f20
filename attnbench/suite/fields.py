"""Typed reads of :class:`~attnbench.suite.yamlpos.YNode` values with located errors.

A :class:`Reader` knows the suite's file name; each method checks one value and returns it as
a Python value, or raises :class:`~attnbench.errors.SuiteError` at the value's line and column
saying what was expected, what was found, the allowed values and a did-you-mean.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from attnbench.errors import did_you_mean
from attnbench.suite.yamlpos import YNode, error_at

T = TypeVar("T")


def suggest(word: str, choices: Sequence[str], aliases: Mapping[str, str] | None = None) -> str:
    """``"; did you mean 'x'?"`` for the closest choice (or alias), else ``""``."""
    guess = (aliases or {}).get(word.lower()) or did_you_mean(word, list(choices))
    return f"; did you mean {guess!r}?" if guess else ""


def read_optional(
    entries: Mapping[str, YNode], key: str, read: Callable[[YNode], T], default: T
) -> T:
    """``read(entries[key])`` when the key is present, else ``default``."""
    return read(entries[key]) if key in entries else default


class Reader:
    """Validating accessors for one suite file (``path`` is used in every error)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, node: YNode | None, message: str, hint: str | None = None) -> NoReturn:
        """Raise a :class:`SuiteError` located at ``node``."""
        raise error_at(node, self.path, message, hint)

    def mapping(
        self,
        node: YNode,
        what: str,
        allowed: Sequence[str],
        required: Mapping[str, str] | None = None,
    ) -> dict[str, YNode]:
        """The entries of a mapping with only ``allowed`` keys and every ``required`` one.

        ``required`` maps each required key to the hint shown when it is missing.
        """
        if not node.is_mapping:
            self.fail(
                node, f"{what} must be a mapping of 'key: value' lines, got {node.describe()}"
            )
        entries: dict[str, YNode] = node.value
        for key in entries:
            if key not in allowed:
                self.fail(
                    node.keys.get(key, node),
                    f"unknown key {key!r} in {what}{suggest(key, allowed)}",
                    f"allowed keys in {what}: {', '.join(allowed)}",
                )
        for key, hint in (required or {}).items():
            if key not in entries:
                where = node.parent_key or node
                self.fail(where, f"{what} is missing the required key {key!r}", hint)
        return entries

    def integer(self, node: YNode, what: str, minimum: int = 1) -> int:
        """An int (never a bool) of at least ``minimum``."""
        value = node.value
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            self.fail(node, f"{what} must be {wanted}, got {node.describe()}")
        return value

    def number(
        self,
        node: YNode,
        what: str,
        minimum: float = 0.0,
        positive: bool = False,
        maximum: float | None = None,
    ) -> float:
        """A number in ``[minimum, maximum]`` (``(0, maximum]`` when ``positive``)."""
        value = node.value
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        too_small = is_number and (value <= 0 if positive else value < minimum)
        too_big = is_number and maximum is not None and value > maximum
        if not is_number or too_small or too_big:
            wanted = "a number > 0" if positive else f"a number >= {minimum:g}"
            if maximum is not None:
                wanted += f" and <= {maximum:g}"
            self.fail(node, f"{what} must be {wanted}, got {node.describe()}")
        return float(value)

    def boolean(self, node: YNode, what: str) -> bool:
        if not isinstance(node.value, bool):
            self.fail(node, f"{what} must be true or false, got {node.describe()}")
        return node.value

    def text(self, node: YNode, what: str) -> str:
        """Any scalar except null, as the user wrote it (``name: 2024`` gives ``'2024'``)."""
        if node.value is None or node.is_mapping or node.is_list:
            self.fail(node, f"{what} must be a string, got {node.describe()}")
        return node.raw if node.raw is not None else str(node.value)

    def choice(
        self,
        node: YNode,
        what: str,
        choices: Sequence[str],
        aliases: Mapping[str, str] | None = None,
    ) -> str:
        """One of ``choices``; YAML's ``off``/``on`` read as the words, not as booleans."""
        value = node.value
        if isinstance(value, bool) and node.raw in choices:
            value = node.raw
        if isinstance(value, str) and value in choices:
            return value
        shown = node.describe()
        extra = suggest(value, choices, aliases) if isinstance(value, str) else ""
        self.fail(node, f"{what} must be one of {' | '.join(choices)}, got {shown}{extra}")

    def axis(
        self,
        node: YNode,
        what: str,
        item: Callable[[YNode, str], T],
        example: str,
    ) -> tuple[T, ...]:
        """A scalar (one value) or a non-empty list of distinct values, each read by ``item``."""
        if not node.is_list:
            return (item(node, what),)
        if not node.value:
            self.fail(
                node,
                f"{what} is an empty list; an axis needs at least one value",
                f"e.g. {example}",
            )
        values: list[T] = []
        seen: dict[Any, YNode] = {}
        for child in node.value:
            value = item(child, what)
            key = (type(value).__name__, repr(value))
            if key in seen:
                first = seen[key]
                where = f"line {first.line}" if first.line is not None else "earlier"
                self.fail(
                    child,
                    f"{what} lists {child.plain()} twice (first at {where})",
                    "each value of an axis must be unique; remove the repeat",
                )
            seen[key] = child
            values.append(value)
        return tuple(values)
