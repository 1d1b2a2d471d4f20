"""``v(inputs, case)`` refuses what ``unsupported()`` refuses, once per case object."""

from __future__ import annotations

import pytest

from attnbench import Case, variants
from attnbench.errors import SuiteError, UnsupportedCase
from attnbench.suite import load_suite_text


def test_causal_sinkhorn_raises_the_message_the_cli_gives() -> None:
    case = Case(1, 2, 16, 8, True, "fp32", {}, "sinkhorn.naive")
    v = variants.get("sinkhorn.naive")
    inputs = v.make_inputs(case)
    with pytest.raises(UnsupportedCase) as direct:
        v(inputs, case)
    suite = ("version: 1\nname: s\naxes: {seq_len: [16], head_dim: 8, causal: true}\n"
             "variants: [sinkhorn.naive]\n")
    with pytest.raises(SuiteError) as cli:
        load_suite_text(suite)
    assert str(direct.value) and str(direct.value) in str(cli.value)


def test_unknown_parameter_raises() -> None:
    case = Case(1, 2, 16, 8, False, "fp32", {"iter": 3}, "sinkhorn.naive")
    v = variants.get("sinkhorn.naive")
    with pytest.raises(UnsupportedCase, match="has no parameter 'iter'"):
        v(v.make_inputs(case), case)


def test_supported_case_is_checked_once_per_case_object(monkeypatch: pytest.MonkeyPatch) -> None:
    v = variants.get("softmax.naive")
    case = Case(1, 2, 16, 8, False, "fp32", {}, "softmax.naive")
    inputs = v.make_inputs(case)
    calls: list[Case] = []
    original = v.unsupported

    def counting(c: Case, device: str | None = None) -> str | None:
        calls.append(c)
        return original(c, device)

    monkeypatch.setattr(v, "unsupported", counting)
    for _ in range(5):
        assert v(inputs, case).shape == (1, 2, 16, 8)
    assert len(calls) == 1
    other = case.replace(causal=True)
    v(inputs, other)
    assert len(calls) == 2
