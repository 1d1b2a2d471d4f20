"""Suite → the list of :class:`~attnbench.case.Case` to run.

The cases are the product of every axis. The order is deterministic and groups each
variant's sweep by sequence length, so a run grows its problem size (and its memory) steadily
and the cases plotted against N for one variant sit together in the result file:

    variants (suite order)
      seq_len → seq_len_kv → batch → heads → heads_kv → head_dim → head_dim_v → causal
        → window → dtype → pass → the variant's params (in the order the entry lists them)

the leftmost varying slowest. A variant's own ``axes``, ``dtype`` and ``pass`` replace the
suite's for that variant. ``Case.params`` holds only the parameters the suite sets; the
others take the variant's defaults implicitly, which keeps case ids short.

Zipped axes (``Suite.zips``) form one axis of tuples, placed where the first of them would
be; with ``Suite.tokens`` the tokens axis takes batch's place and batch = tokens / seq_len.
Shape errors found here (a zip of unequal lengths after a variant's override, heads_kv not
dividing heads, a mask with seq_len > seq_len_kv, seq_len not dividing tokens) point at the
axis in the file when the suite set it, else at the variant entry.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from attnbench.case import Case
from attnbench.errors import InputError, SuiteError, UnknownVariantError, did_you_mean
from attnbench.suite.schema import AXIS_DEFAULTS, Suite, VariantRef

if TYPE_CHECKING:
    from attnbench.variants import Variant

SHAPE_ORDER = (
    "seq_len", "seq_len_kv", "batch", "heads", "heads_kv", "head_dim", "head_dim_v", "causal",
    "window",
)  # fmt: skip
Group = tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]
"""One factor of the product: the axis names it sets and its points (one value per name)."""


def expand(suite: Suite) -> list[Case]:
    """Every case of ``suite``, in the documented order.

    Raises:
        SuiteError: at a variant entry's line when the variant cannot run some of its cases
            (with the fix), when two entries produce the same case id, or when a suite built
            in code lacks ``seq_len`` / ``head_dim`` or names an unknown variant.
    """
    cases: list[Case] = []
    owner: dict[str, VariantRef] = {}
    for ref in suite.variants:
        variant = _variant(suite, ref)
        ref_cases = list(_cases(suite, ref, variant.info.name))
        _check_supported(suite, ref, variant, ref_cases)
        for case in ref_cases:
            if case.case_id in owner:
                raise _duplicate(suite, owner[case.case_id], ref, case)
            owner[case.case_id] = ref
        cases.extend(ref_cases)
    return cases


def count_cases(suite: Suite) -> int:
    """How many cases :func:`expand` returns, computed without building them."""
    return sum(math.prod(len(points) for _, points in _groups(suite, ref))
               for ref in suite.variants)  # fmt: skip


def filter_variants(suite: Suite, names: Sequence[str]) -> Suite:
    """The suite restricted to the variants named (``run --variant NAME``), in suite order.

    A name matches an entry's full name (``softmax.sdpa``) or its family (``softmax``).
    No names means no filter.

    Raises:
        InputError: a name matches no variant of the suite (with a did-you-mean).
    """
    if not names:
        return suite
    known = sorted({ref.name for ref in suite.variants} | {ref.family for ref in suite.variants})
    for name in names:
        if name not in known:
            guess = did_you_mean(name, known)
            mean = f"; did you mean {guess!r}?" if guess else ""
            listed = ", ".join(dict.fromkeys(ref.name for ref in suite.variants))
            raise InputError(
                f"--variant {name!r} is not in suite {suite.name!r}{mean} "
                f"(the suite's variants: {listed})"
            )
    wanted = set(names)
    kept = tuple(ref for ref in suite.variants if ref.name in wanted or ref.family in wanted)
    return dataclasses.replace(suite, variants=kept)


def _error(
    suite: Suite, ref: VariantRef, message: str, hint: str | None = None, axis: str | None = None
) -> SuiteError:
    """A located error: at ``axis`` under the suite's ``axes`` when the suite set it and the
    variant does not override it, else at the variant entry."""
    line, column = ref.line, ref.column
    if axis is not None and axis not in ref.axes and axis in suite.positions:
        line, column = suite.positions[axis]
    return SuiteError(message, path=suite.path, line=line, column=column, hint=hint)


def _variant(suite: Suite, ref: VariantRef) -> Variant:
    from attnbench import variants  # the registry imports torch: only once a case is built

    try:
        return variants.get(ref.name)
    except UnknownVariantError as exc:
        raise _error(suite, ref, str(exc)) from exc


def _axes(suite: Suite, ref: VariantRef) -> dict[str, tuple[Any, ...]]:
    """Every axis of one variant entry, in expansion order (shape, dtype, pass, params)."""
    shape: Mapping[str, tuple[Any, ...]] = {**AXIS_DEFAULTS, **suite.axes, **ref.axes}
    missing = [name for name in SHAPE_ORDER if name not in shape]
    if missing:
        raise _error(
            suite,
            ref,
            f"the suite has no axes {', '.join(missing)}",
            "every suite needs axes.seq_len and axes.head_dim",
        )
    axes = {name: tuple(shape[name]) for name in SHAPE_ORDER}
    if suite.tokens and "batch" in ref.axes:
        raise _error(
            suite,
            ref,
            f"{ref.name} sets axes.batch, but this suite derives batch from axes.tokens",
            "remove batch from this entry's axes (it would be ignored)",
        )
    if suite.tokens:
        axes = {("tokens" if name == "batch" else name): value for name, value in axes.items()}
        axes["tokens"] = suite.tokens
    axes["dtype"] = ref.dtypes if ref.dtypes is not None else suite.dtypes
    axes["pass"] = ref.passes if ref.passes is not None else suite.passes
    axes.update({f"param:{key}": tuple(values) for key, values in ref.params.items()})
    return axes


def _groups(suite: Suite, ref: VariantRef) -> list[Group]:
    """The factors of the variant's product, in expansion order (zips as one factor)."""
    axes = _axes(suite, ref)
    zipped = {name: names for names in suite.zips for name in names}
    groups: list[Group] = []
    placed: set[tuple[str, ...]] = set()
    for name, values in axes.items():
        names = zipped.get(name)
        if names is None:
            groups.append(((name,), tuple((value,) for value in values)))
        elif names not in placed:
            placed.add(names)
            lengths = {member: len(axes[member]) for member in names}
            if len(set(lengths.values())) > 1:
                shown = ", ".join(f"{member} has {count}" for member, count in lengths.items())
                raise _error(
                    suite,
                    ref,
                    f"zipped axes must have equal lengths for {ref.name}: {shown}",
                    "a per-variant override of a zipped axis must list as many values",
                    axis=names[-1],
                )
            groups.append((names, tuple(zip(*(axes[m] for m in names), strict=True))))
    return groups


def _cases(suite: Suite, ref: VariantRef, full_name: str) -> Iterator[Case]:
    groups = _groups(suite, ref)
    for combo in itertools.product(*(points for _, points in groups)):
        point: dict[str, Any] = {}
        for (names, _), values in zip(groups, combo, strict=True):
            point.update(zip(names, values, strict=True))
        params = {key[6:]: value for key, value in point.items() if key.startswith("param:")}
        _check_shape(suite, ref, point)
        yield Case(
            batch=point["batch"],
            heads=point["heads"],
            seq_len=point["seq_len"],
            head_dim=point["head_dim"],
            head_dim_v=point["head_dim_v"],
            causal=point["causal"],
            dtype=point["dtype"],
            pass_=point["pass"],
            params=params,
            variant=full_name,
            heads_kv=point["heads_kv"],
            seq_len_kv=point["seq_len_kv"],
            window=point["window"],
        )


def _check_shape(suite: Suite, ref: VariantRef, point: dict[str, Any]) -> None:
    """Shape rules :class:`Case` enforces, as located errors; sets a derived batch."""
    n = point["seq_len"]
    if "tokens" in point:
        tokens = point["tokens"]
        if tokens % n or tokens < n:
            raise _error(
                suite,
                ref,
                f"seq_len {n} does not divide tokens {tokens} (batch = tokens / seq_len)",
                "use sequence lengths that divide the token count",
                axis="seq_len",
            )
        point["batch"] = tokens // n
    heads, heads_kv = point["heads"], point["heads_kv"]
    if heads_kv is not None and heads % heads_kv:
        raise _error(
            suite,
            ref,
            f"heads_kv {heads_kv} does not divide heads {heads}: each key/value head serves an "
            "equal group of query heads",
            "use a divisor of heads (heads for plain attention, 1 for MQA)",
            axis="heads_kv",
        )
    n_kv = point["seq_len_kv"] if point["seq_len_kv"] is not None else n
    if (point["causal"] or point["window"] is not None) and n > n_kv:
        raise _error(
            suite,
            ref,
            f"a causal or windowed case needs seq_len <= seq_len_kv, got {n} > {n_kv}: aligned "
            "bottom-right, the first queries would see no key",
            "give this sweep 'causal: [false]' and no window, or keys at least as long",
            axis="seq_len_kv",
        )


def _check_supported(suite: Suite, ref: VariantRef, variant: Variant, cases: list[Case]) -> None:
    failing = [(case, why) for case in cases if (why := variant.unsupported(case, None))]
    if not failing:
        return
    case, why = failing[0]
    raise _error(
        suite,
        ref,
        f"{variant.info.name} cannot run {len(failing)} of its {len(cases)} cases, "
        f"e.g. {case.case_id}: {why}",
        _fix(variant, case),
    )


def _fix(variant: Variant, case: Case) -> str:
    """What to write on the variant's entry so that it only gets cases it can run."""
    entry = "on this variant's entry (a per-variant override)"
    if case.causal and variant.unsupported(case.replace(causal=False), None) is None:
        return f"set 'axes: {{causal: [false]}}' {entry}"
    if case.pass_ != "fwd" and variant.unsupported(case.replace(pass_="fwd"), None) is None:
        return f"set 'pass: [fwd]' {entry}"
    for axis, default in (("heads_kv", None), ("seq_len_kv", None), ("window", None)):
        if getattr(case, axis) is not None and variant.unsupported(
            case.replace(**{axis: default}), None
        ) is None:
            return f"set 'axes: {{{axis}: [null]}}' {entry} (attnbench list shows its shapes)"
    if case.params:
        return "change the params of this entry to values the variant accepts"
    return f"restrict the axes it sweeps with 'axes: {{...}}' {entry}, or remove it"


def _duplicate(suite: Suite, first: VariantRef, second: VariantRef, case: Case) -> SuiteError:
    if first is second:
        return _error(
            suite,
            second,
            f"this variant entry produces case {case.case_id} twice",
            "two axis values describe the same case; head_dim_v equal to head_dim, heads_kv "
            "equal to heads and seq_len_kv equal to seq_len are the same as leaving them out "
            "(null)",
        )
    where = f"the entry at line {first.line}" if first.line is not None else "an earlier entry"
    return _error(
        suite,
        second,
        f"this variant entry repeats case {case.case_id} of {where}",
        "list each variant once; sweep a parameter with a list instead, "
        "e.g. 'params: {block_q: [128, 256]}'",
    )
