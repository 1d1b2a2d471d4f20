"""The one place a result file is checked: bytes → text → JSON → schema (design §3.3).

Every reader goes through :func:`attnbench.results.store.load_results`, which calls
:func:`parse_result_text` and :func:`validate_result`. A problem is a
:class:`~attnbench.errors.ResultFileError` naming the file and the JSON path of the problem,
e.g. ``r.json: $.cases[3].metrics["time/median_ms"]: expected a number or null, got "fast"``.

The format itself is written down as a JSON Schema shipped in the package
(``attnbench/results/result.schema.json``, draft 2020-12) and checked with the ``jsonschema``
library, so other tools can validate files the same way. The schema is strict about the types
of the fields attnbench knows and lenient about extra keys (newer minor versions, other tools).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from attnbench.errors import ResultFileError

SCHEMA_FILE = "result.schema.json"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TYPE_NAMES = {
    "number": "a number",
    "integer": "an integer",
    "string": "a string",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


@functools.cache
def result_schema() -> dict[str, Any]:
    """The JSON Schema of a result file (a dict, parsed once)."""
    text = resources.files("attnbench.results").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> Draft202012Validator:
    schema = result_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def json_path(parts: Iterable[str | int]) -> str:
    """``["cases", 3, "metrics", "time/median_ms"]`` → ``$.cases[3].metrics["time/median_ms"]``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _show(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, allow_nan=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _expected(error: ValidationError) -> str:
    kind = error.validator
    rule: Any = error.validator_value
    if kind == "type":
        names = [rule] if isinstance(rule, str) else list(rule)
        return "expected " + " or ".join(_TYPE_NAMES.get(n, n) for n in names)
    if kind == "enum":
        return "expected one of " + ", ".join(_show(v) for v in rule)
    if kind == "minimum":
        return f"expected a number >= {rule}"
    if kind == "minLength":
        return "expected a non-empty string"
    if kind == "pattern":
        return f"expected text matching {rule}"
    return str(error.message)


def describe(error: ValidationError) -> str:
    """``$.path: expected ..., got ...`` for one schema violation."""
    where = json_path(error.absolute_path)
    if error.validator == "required":
        missing = next((k for k in error.validator_value if k not in error.instance), "?")
        return f"{where}: missing required key {json.dumps(missing)}"
    return f"{where}: {_expected(error)}, got {_show(error.instance)}"


_NUMBER_TYPES = {int, float}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bulk_problems(data: Any) -> tuple[Any, list[str]]:
    """Check the bulky containers (``samples``, ``metrics``) directly; return the rest.

    jsonschema spends tens of microseconds per array item, so a file of 1,000 cases of 2,000
    samples would take over a minute. The same rules as the schema's (``samples`` items are
    numbers; ``metrics`` values are numbers or null) are checked here in a plain loop and the
    containers are replaced by empty ones in the copy handed to jsonschema.
    """
    cases = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(cases, list):
        return data, []
    problems: list[str] = []
    light = []
    for i, case in enumerate(cases):
        if not isinstance(case, dict):
            light.append(case)
            continue
        samples, metrics = case.get("samples"), case.get("metrics")
        slim = dict(case)
        if isinstance(samples, list):
            clean = set(map(type, samples)) <= _NUMBER_TYPES  # fast path: no item to report
            for j, x in enumerate(() if clean else samples):
                if not _is_number(x):
                    where = json_path(["cases", i, "samples", j])
                    problems.append(f"{where}: expected a number, got {_show(x)}")
            slim["samples"] = []
        if isinstance(metrics, dict):
            for key, x in metrics.items():
                if x is not None and not _is_number(x):
                    where = json_path(["cases", i, "metrics", key])
                    problems.append(f"{where}: expected a number or null, got {_show(x)}")
            slim["metrics"] = {}
        light.append(slim)
    return {**data, "cases": light}, problems


def validate_result(data: Any, source: str) -> None:
    """Check ``data`` (a parsed, migrated result file) against the schema.

    Raises:
        ResultFileError: ``source: $.json.path: expected ..., got ...`` for the first
            problem in document order, with the number of further problems.
    """
    light, problems = _bulk_problems(data)
    errors = list(_validator().iter_errors(light))
    messages = [describe(best_match(errors))] if errors else []
    if problems and errors and _first_case(errors) < _case_of(problems[0]):
        messages = [*messages, *problems]
    else:
        messages = [*problems, *messages]
    total = len(problems) + len(errors)
    if not total:
        return
    more = total - 1
    extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    raise ResultFileError(f"{source}: {messages[0]}{extra}")


def _case_of(message: str) -> int:
    found = re.match(r"\$\.cases\[(\d+)\]", message)
    return int(found.group(1)) if found else -1


def _first_case(errors: list[ValidationError]) -> int:
    path = list(best_match(errors).absolute_path)
    return path[1] if len(path) > 1 and path[0] == "cases" and isinstance(path[1], int) else -1


def _finite_float(literal: str) -> float | None:
    """A JSON number with a fraction or exponent; None when it overflows a double."""
    value = float(literal)
    return value if math.isfinite(value) else None


def _non_finite(token: str) -> None:
    """``NaN``/``Infinity`` (written by other tools; not JSON) read as null, as attnbench writes."""
    del token


def parse_result_text(data: bytes, source: str) -> Any:
    """Decode UTF-8 and parse JSON; errors carry line and column.

    ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON, but written by Python's ``json``) and
    numbers too large for a double (``1e999``) are read as null, the value attnbench itself
    stores for a non-finite number; where the schema wants a number (a sample) the null is
    then refused at its JSON path. (An overflowing number read as ``inf`` would load once and
    then be written back as null, which the next load refuses.)

    Raises:
        ResultFileError: not UTF-8, not JSON (truncated, broken), or nested too deeply.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ResultFileError(
            f"{source}:{line}:{column}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "a result file is UTF-8 JSON"
        ) from None
    try:
        return json.loads(text, parse_constant=_non_finite, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        ends = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        what = "the file ends early (truncated?)" if ends else exc.msg
        where = f"{source}:{exc.lineno}:{exc.colno}"
        raise ResultFileError(f"{where}: not valid JSON ({what})") from None
    except RecursionError:
        raise ResultFileError(f"{source}: JSON nested too deeply to be a result file") from None
    except ValueError as exc:  # e.g. an integer too long to convert
        raise ResultFileError(f"{source}: not a valid result file: {exc}") from None
