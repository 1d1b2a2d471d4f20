"""Orchestration: expand a suite, run its cases, persist the results as they finish.

``core`` holds the run loop; scheduling (comparison groups), worker isolation and distributed
ranks live in their own modules beside it.
"""

from attnbench.runner.core import (
    NullProgress,
    Progress,
    new_run,
    parse_shard,
    run_suite,
    select_cases,
    status_counts,
    summary_line,
)

__all__ = [
    "NullProgress",
    "Progress",
    "new_run",
    "parse_shard",
    "run_suite",
    "select_cases",
    "status_counts",
    "summary_line",
]
