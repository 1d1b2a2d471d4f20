"""Fixtures for the NVML layer: a fake pynvml installed at attnbench's import boundary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from attnbench.measure import nvml
from tests.measure.fake_nvml import FakeNvml


@pytest.fixture
def install_nvml(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeNvml]:
    """``install_nvml(fake)`` makes ``import pynvml`` inside attnbench return ``fake``."""

    def install(fake: FakeNvml | None = None, **kwargs: Any) -> FakeNvml:
        module = fake if fake is not None else FakeNvml(**kwargs)
        monkeypatch.setattr(nvml, "_load_pynvml", lambda: module)
        return module

    return install
