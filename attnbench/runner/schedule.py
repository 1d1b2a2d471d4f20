"""Scheduling: which cases are measured together, and in what order.

A :class:`Group` is the runner's unit of work. With ``timing.interleave: true`` (the default)
it is a comparison group: every case of the run with the same :attr:`Case.group_key` (shape,
dtype, mask, pass), measured together by :func:`attnbench.measure.group.measure_group`.
With ``interleave: false`` every case is a group of its own, measured alone.

Order: groups in the order the run first meets their key (the suite's expansion order),
members in case order, so the first variant of the suite sets the order of the shapes.

Resume keeps groups whole: a group with any member not finished is measured again in full,
replacing the results of its finished members, so its ratios always come from one set of
paired rounds (:func:`pending_groups`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from attnbench.case import Case


@dataclass(frozen=True)
class Group:
    """Cases measured together.

    Attributes:
        key: the comparison-group key (``Case.group_key``), or the case id of a case
            measured alone.
        cases: the members, in case order.
        interleaved: True when the members are sampled in rotation (``interleave: true``).
    """

    key: str
    cases: tuple[Case, ...]
    interleaved: bool

    @property
    def case_ids(self) -> list[str]:
        return [c.case_id for c in self.cases]


def plan_groups(cases: Sequence[Case], interleave: bool) -> list[Group]:
    """``cases`` as groups, in the order described in the module docstring."""
    if not interleave:
        return [Group(c.case_id, (c,), False) for c in cases]
    members: dict[str, list[Case]] = {}
    for case in cases:
        members.setdefault(case.group_key, []).append(case)
    return [Group(key, tuple(group), True) for key, group in members.items()]


def pending_groups(groups: Sequence[Group], done: Collection[str]) -> list[Group]:
    """The groups that still need measuring: those with any case id not in ``done``."""
    return [g for g in groups if any(cid not in done for cid in g.case_ids)]
