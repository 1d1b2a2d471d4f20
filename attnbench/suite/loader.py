"""Suite file (YAML, ``version: 1``) → validated :class:`~attnbench.suite.schema.Suite`.

The file is read with a safe YAML loader only, keeping the line and column of every value, so
each mistake is reported before anything runs as ``file:line:column: message`` with the
allowed values and a did-you-mean (design §3.2). Overrides from ``attnbench run --set
KEY=VALUE`` are applied to the YAML tree before validation; a mistake they cause is reported
against ``--set KEY=VALUE`` instead of a line.

Keys (``*`` required)::

    version*: 1
    name*: long_context
    description: free text
    device: auto                 # auto | cpu | cuda | cuda:N
    dtype: [bf16]                # fp32 | fp16 | bf16; a list is an axis
    pass: [fwd, fwd_bwd]         # fwd | bwd | fwd_bwd; a list is an axis
    axes*:                       # every list is an axis; the cases are their product
      batch: 1                   # default 1
      heads: 16                  # default 8
      seq_len*: [1024, 4096]
      head_dim*: [64, 128]
      head_dim_v: 64             # default: = head_dim
      causal: [false, true]      # default false
      heads_kv: [16, 2, 1]       # default: = heads (GQA; must divide heads; MQA at 1)
      seq_len_kv: [4096]         # default: = seq_len (cross-attention; decoding: seq_len 1)
      window: [null, 1024]       # sliding window W; default null (none)
      zip: [batch, seq_len]      # iterate these axes in lockstep (equal lengths)
      tokens: 16384              # batch = tokens / seq_len (then batch is not set)
    variants*:
      - softmax.sdpa             # family.impl, or a bare family for its default impl
      - {name: cog, impl: streaming, params: {iters: [1, 5]}}
      - {name: softmax.naive, axes: {seq_len: [1024]}}
    timing: {warmup_ms, warmup_max_ms, min_samples, min_time_ms, max_time_s,
             target_rel_iqr, max_samples, flush: cold | hot, cuda_graph: bool,
             interleave: bool}   # interleave (default true): comparison groups in rotation
    power: {enabled: auto | on | off, min_window_s, sample_period_ms, cooldown_s,
            idle_baseline_s, throttle_fraction}
    cpu: {threads: N}            # torch intra-op threads (run --threads N overrides it)
    check: reduced               # reduced | full | off
    seed: 0
    baseline: softmax.sdpa       # paired ratios against this variant (default softmax.sdpa)

A variant entry is a name or a mapping with ``name`` (required), ``impl``, ``params``,
``axes``, ``dtype`` and ``pass``. ``params`` values are a scalar or a list; a list is an axis
(for a list-valued parameter, write a list of lists to sweep it).

**Per-variant overrides (attnbench extension).** A variant's ``axes`` (any subset of the
shape axis names), ``dtype`` and ``pass`` replace the suite's for that variant only. This lets
a variant that cannot run causal masking sit in a suite whose causal axis is
``[false, true]`` (``axes: {causal: [false]}``), or a materialising O(N²) kernel stop at 8K
tokens (``axes: {seq_len: [1024, 2048, 4096, 8192]}``) while the others go on to 32K.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from attnbench.errors import InputError, SuiteError, UnknownVariantError
from attnbench.suite.digest import digest, document
from attnbench.suite.entries import read_dtypes, read_passes, read_suite_axes, read_variants
from attnbench.suite.expand import count_cases, expand
from attnbench.suite.fields import Reader, read_optional, suggest
from attnbench.suite.schema import (
    CHECK_MODES,
    FLUSH_MODES,
    POWER_MODES,
    SUITE_VERSION,
    CpuSettings,
    PowerSettings,
    Suite,
    TimingSettings,
)
from attnbench.suite.yamlpos import YNode, apply_override, parse, parse_override

TOP_KEYS = (
    "version", "name", "description", "device", "dtype", "pass",
    "axes", "variants", "timing", "power", "cpu", "check", "seed", "baseline",
)  # fmt: skip
REQUIRED_TOP = {
    "version": "add 'version: 1' as the first line",
    "name": "add e.g. 'name: my_suite' (it is also the default result file name)",
    "axes": "add e.g. 'axes: {seq_len: [1024, 4096], head_dim: [64]}'",
    "variants": "add e.g. 'variants: [softmax.sdpa, softmax.naive]'",
}
TIMING_KEYS = tuple(f.name for f in dataclasses.fields(TimingSettings))
POWER_KEYS = tuple(f.name for f in dataclasses.fields(PowerSettings))
MINIMAL = "a minimal suite: {version: 1, name: mine, axes: {seq_len: [1024], head_dim: [64]}, "
MINIMAL += "variants: [softmax.sdpa]}"


MAX_TOTAL_CASES = 100_000
"""Default cap on the cases a suite may expand to (``--max-total-cases`` raises it)."""


def load_suite(
    path: str | Path,
    overrides: Sequence[str] = (),
    *,
    max_total_cases: int = MAX_TOTAL_CASES,
) -> Suite:
    """Load and validate a suite file, then check that every case it expands to can run.

    Args:
        path: the YAML file.
        overrides: ``KEY=VALUE`` strings from ``--set`` (dotted key, YAML value).
        max_total_cases: refuse a suite expanding to more cases (counted arithmetically,
            before any case is built).

    Raises:
        InputError: the file does not exist or cannot be read.
        SuiteError: any mistake in the file or the overrides, located by line and column.
    """
    file = Path(path)
    if file.is_dir():
        raise InputError(f"suite path is a directory, not a file: {path}")
    if not file.exists():
        raise InputError(f"suite file not found: {path}")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read suite file {path}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SuiteError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
            path=str(path),
            line=line,
            column=column,
            hint="save the suite as UTF-8",
        ) from None
    return _load(text, str(path), overrides, data, max_total_cases)


def load_suite_text(
    text: str,
    path: str = "<string>",
    overrides: Sequence[str] = (),
    *,
    max_total_cases: int = MAX_TOTAL_CASES,
) -> Suite:
    """Like :func:`load_suite` for YAML already in memory; ``path`` names it in errors."""
    return _load(text, path, overrides, text.encode("utf-8", "surrogatepass"), max_total_cases)


def content_hash(data: bytes, overrides: Sequence[str] = ()) -> str:
    """The suite's identity: sha256 of its parsed content after ``--set`` overrides.

    Comments, blank lines, key order and YAML style do not change it (see
    :mod:`attnbench.suite.digest`); any value does.
    """
    text = data.decode("utf-8")
    root = parse(text, "<suite>")
    for override in overrides:
        keys, value = parse_override(override, "<suite>")
        if root is not None:
            apply_override(root, keys, value, "<suite>")
    return digest(document(root))


def _load(
    text: str, path: str, overrides: Sequence[str], data: bytes, max_total_cases: int
) -> Suite:
    reader = Reader(path)
    root = parse(text, path)
    if root is None:
        reader.fail(None, "the suite file is empty", MINIMAL)
    if not root.is_mapping:
        reader.fail(
            root, f"a suite must be a mapping of 'key: value' lines, got {root.describe()}", MINIMAL
        )
    for override in overrides:
        keys, value = parse_override(override, path)
        apply_override(root, keys, value, path)
    # Count before the variant registry is imported (it imports torch, seconds on a cold
    # start), so an oversized suite is refused at once; the exact count follows.
    early = dataclasses.replace(_suite(reader, root, resolve=False), path=path)
    _check_size(early, path, max_total_cases, _sets_params(root))
    suite = _suite(reader, root)
    _check_baseline(reader, root, suite)
    doc = document(root)
    suite = dataclasses.replace(suite, path=path, content_hash=digest(doc), document=doc)
    _check_size(suite, path, max_total_cases)
    expand(suite)  # rejects cases a variant cannot run and duplicate case ids
    return suite


def _sets_params(root: YNode) -> bool:
    """Some variant entry has ``params`` (which the structural count takes as one value)."""
    entries = root.value.get("variants") if root.is_mapping else None
    if entries is None or not entries.is_list:
        return False
    return any(child.is_mapping and "params" in child.value for child in entries.value)


def _check_size(suite: Suite, path: str, limit: int, lower_bound: bool = False) -> None:
    """Refuse a suite of more than ``limit`` cases, counted as a product of axis lengths.

    ``lower_bound``: the count left some axes out (a structural read without params), so
    the message says "at least".
    """
    total = count_cases(suite)
    if total > limit:
        least = "at least " if lower_bound else ""
        raise SuiteError(
            f"the suite expands to {least}{total:,} cases, more than the limit of {limit:,}",
            path=path,
            hint="sweep fewer values, split the suite, or raise the limit with "
            "--max-total-cases N",
        )


def _suite(r: Reader, root: YNode, *, resolve: bool = True) -> Suite:
    """The suite's fields; ``resolve=False`` reads the structure only (see read_variants)."""
    top = r.mapping(root, "the suite", TOP_KEYS, REQUIRED_TOP)
    _version(r, top["version"])
    optional = partial(read_optional, top)
    axes = read_suite_axes(r, top["axes"])
    return Suite(
        name=_name(r, top["name"]),
        description=optional("description", partial(r.text, what="description"), ""),
        device=optional("device", partial(_device, r), "auto"),
        dtypes=optional("dtype", partial(read_dtypes, r), ("fp32",)),
        passes=optional("pass", partial(read_passes, r), ("fwd",)),
        axes=axes.axes,
        zips=axes.zips,
        tokens=axes.tokens,
        positions=axes.positions,
        variants=read_variants(r, top["variants"], resolve=resolve),
        timing=optional("timing", partial(_settings, r, TimingSettings, _TIMING), TimingSettings()),
        power=optional("power", partial(_settings, r, PowerSettings, _POWER), PowerSettings()),
        cpu=optional("cpu", partial(_settings, r, CpuSettings, _CPU), CpuSettings()),
        check=optional("check", partial(_check, r), "reduced"),
        seed=optional("seed", partial(r.integer, what="seed", minimum=0), 0),
        baseline=optional("baseline", partial(_baseline, r), None) if resolve else None,
    )


def _baseline(r: Reader, node: YNode) -> str:
    from attnbench import variants

    name = r.text(node, "baseline")
    try:
        return variants.resolve(name)
    except UnknownVariantError as exc:
        r.fail(node, f"baseline: {exc}", "name one of the suite's variants, e.g. softmax.sdpa")


def _check_baseline(r: Reader, root: YNode, suite: Suite) -> None:
    """A named baseline must be one of the suite's variants."""
    if suite.baseline is None:
        return
    listed = list(dict.fromkeys(ref.name for ref in suite.variants))
    if suite.baseline not in listed:
        r.fail(
            root.value.get("baseline", root),
            f"baseline {suite.baseline!r} is not one of the suite's variants",
            f"the suite's variants: {', '.join(listed)}",
        )


def _name(r: Reader, node: YNode) -> str:
    """The suite name; it names the default result file, so it must be one path segment."""
    name = r.text(node, "name")
    bad = [c for c in ("/", "\\", "\0") if c in name]
    if bad or ".." in name or name.startswith(".") or not name.strip():
        why = f"contains {bad[0]!r}" if bad else "contains '..'" if ".." in name else (
            "starts with '.'" if name.startswith(".") else "is empty")
        r.fail(
            node,
            f"name {name!r} {why}; it becomes the result file name results/<name>-<time>.json",
            "use letters, digits, '_', '-' and '.' (not '..'), e.g. 'name: long_context'",
        )
    return name


def _version(r: Reader, node: YNode) -> None:
    value = node.value
    if isinstance(value, int) and not isinstance(value, bool) and value == SUITE_VERSION:
        return
    newer = isinstance(value, int) and not isinstance(value, bool) and value > SUITE_VERSION
    r.fail(
        node,
        f"unsupported suite version {node.plain()}; supported versions: {SUITE_VERSION}",
        "this file needs a newer attnbench: pip install -U attnbench"
        if newer
        else f"write 'version: {SUITE_VERSION}' (an unquoted integer)",
    )


def _device(r: Reader, node: YNode) -> str:
    value = node.value
    if isinstance(value, str) and (
        value in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", value)
    ):
        return value
    extra = (
        suggest(value, ("auto", "cpu", "cuda"), {"gpu": "cuda"}) if isinstance(value, str) else ""
    )
    r.fail(
        node,
        f"device must be one of auto | cpu | cuda | cuda:N, got {node.describe()}{extra}",
        "cuda:N picks GPU number N (e.g. cuda:0); auto uses a GPU when there is one",
    )


def _check(r: Reader, node: YNode) -> str:
    return "off" if node.value is False else r.choice(node, "check", CHECK_MODES)


# -------------------------------------------------------------------------- timing / power
def _settings(
    r: Reader, cls: type[Any], readers: dict[str, Callable[..., Any]], node: YNode
) -> Any:
    section = cls.__name__.replace("Settings", "").lower()
    entries = r.mapping(node, section, tuple(readers))
    values = {key: readers[key](r, value, f"{section}.{key}") for key, value in entries.items()}
    settings = cls(**values)
    if isinstance(settings, TimingSettings):
        _check_timing(r, settings, entries)
    return settings


def _check_timing(r: Reader, t: TimingSettings, entries: dict[str, YNode]) -> None:
    """Refuse settings no case can meet, located at the first of the keys involved."""
    rules = (
        (
            t.max_samples < t.min_samples,
            ("max_samples", "min_samples"),
            f"timing.max_samples ({t.max_samples}) is below timing.min_samples "
            f"({t.min_samples})",
            "raise max_samples or lower min_samples",
        ),
        (
            t.min_time_ms >= t.max_time_s * 1000.0,
            ("min_time_ms", "max_time_s"),
            f"timing.min_time_ms ({t.min_time_ms:g} ms) must be below timing.max_time_s "
            f"({t.max_time_s:g} s = {t.max_time_s * 1000:g} ms): at or above it every case "
            "stops on max_time before any other rule can fire",
            "min_time_ms is in milliseconds, max_time_s in seconds; raise max_time_s or "
            "lower min_time_ms",
        ),
        (
            "warmup_max_ms" in entries and t.warmup_max_ms < t.warmup_ms,
            ("warmup_max_ms", "warmup_ms"),
            f"timing.warmup_max_ms ({t.warmup_max_ms:g} ms) is below timing.warmup_ms "
            f"({t.warmup_ms:g} ms)",
            "warmup_ms is the warm-up budget, warmup_max_ms its cap; raise warmup_max_ms",
        ),
    )
    for broken, keys, message, hint in rules:
        if broken:
            node = next((entries[k] for k in keys if k in entries), None)
            r.fail(node, message, hint)


def _enabled(r: Reader, node: YNode, what: str) -> str:
    if isinstance(node.value, bool) and node.raw not in POWER_MODES:
        return "on" if node.value else "off"  # `enabled: true` / `false`
    return r.choice(node, what, POWER_MODES)


_TIMING: dict[str, Callable[..., Any]] = {
    "warmup_ms": Reader.number,
    "min_samples": Reader.integer,
    "min_time_ms": Reader.number,
    "max_time_s": partial(Reader.number, positive=True),
    "target_rel_iqr": Reader.number,
    "max_samples": Reader.integer,
    "flush": partial(Reader.choice, choices=FLUSH_MODES),
    "cuda_graph": Reader.boolean,
    "interleave": Reader.boolean,
    "warmup_max_ms": Reader.number,
}
_POWER: dict[str, Callable[..., Any]] = {
    "enabled": _enabled,
    "min_window_s": partial(Reader.number, positive=True),
    "sample_period_ms": partial(Reader.number, positive=True),
    "cooldown_s": Reader.number,
    "idle_baseline_s": Reader.number,
    "throttle_fraction": partial(Reader.number, positive=True, maximum=1.0),
}
_CPU: dict[str, Callable[..., Any]] = {"threads": Reader.integer}
assert tuple(_TIMING) == TIMING_KEYS and tuple(_POWER) == POWER_KEYS
