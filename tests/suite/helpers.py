"""Helpers shared by the suite tests."""

from __future__ import annotations

import pytest

from attnbench.errors import SuiteError
from attnbench.suite import load_suite_text


def message(text: str, overrides: tuple[str, ...] = ()) -> str:
    """The whole message of the :class:`SuiteError` that loading ``text`` as ``s.yaml``
    (with ``--set`` ``overrides``) raises; fails the test when it loads."""
    with pytest.raises(SuiteError) as err:
        load_suite_text(text, "s.yaml", overrides)
    return str(err.value)
