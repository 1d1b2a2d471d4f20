"""Test-wide rules: tests marked ``gpu`` skip where torch sees no CUDA device."""

from __future__ import annotations

import pytest
import torch


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (marked gpu)")
    for item in items:
        # the marker, not ``"gpu" in item.keywords``: keywords hold every parent node's
        # name, so a checkout in a directory called ``gpu`` would skip the whole suite
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)
