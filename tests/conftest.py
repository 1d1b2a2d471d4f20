"""Test-wide rules: tests marked ``gpu`` skip where torch sees no CUDA device; one intra-op
thread under mutation testing."""

from __future__ import annotations

import os

import pytest
import torch

if "MUTANT_UNDER_TEST" in os.environ:
    # mutmut forks a worker per mutant from a process that has already run torch. An OpenMP
    # thread pool does not survive a fork: a worker that needs one hangs until the mutant's
    # timeout, which mutmut counts as a kill. With one thread no pool is ever formed.
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (marked gpu)")
    for item in items:
        # the marker, not ``"gpu" in item.keywords``: keywords hold every parent node's
        # name, so a checkout in a directory called ``gpu`` would skip the whole suite
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)
