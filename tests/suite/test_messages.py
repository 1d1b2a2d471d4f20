"""Error messages word for word: the location, what was expected, the suggestion and the
hint are what a user acts on, so each is pinned exactly."""

from __future__ import annotations

import pytest

from attnbench.errors import AttnbenchError, InputError
from attnbench.suite.keyword import compile_patterns
from attnbench.suite.loader import load_suite_text

HEAD = "version: 1\nname: t\ndtype: fp32\npass: [fwd]\n"
AXES = "axes: {batch: 1, heads: 1, seq_len: 16, head_dim: 8, causal: false}\n"
ONE = "variants: [softmax.naive]\n"
DEVICE_HINT = "  hint: cuda:N picks GPU number N (e.g. cuda:0); auto uses a GPU when there is one"


def _message(text: str) -> str:
    with pytest.raises(AttnbenchError) as err:
        load_suite_text(text, "s.yaml")
    assert err.value.exit_code == 2
    return str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            HEAD + "axes: {batch: 1, tokens: 64, heads: 1, seq_len: 16, head_dim: 8, "
            "causal: false}\n" + ONE,
            "s.yaml:5:8: axes.batch cannot be set together with axes.tokens: batch is derived "
            "as tokens / seq_len\n  hint: remove batch, or remove tokens and list the batch sizes",
        ),
        (
            HEAD + "axes: {batch: 1, heads: 1, seq_len: [16, 32], head_dim: [8, 16], "
            "causal: false, zip: [[seq_len, head_dim, seq_len]]}\n" + ONE,
            "s.yaml:5:107: zip lists axis 'seq_len' twice\n"
            "  hint: each axis may be zipped only once",
        ),
        (
            HEAD + "device: gpu\n" + AXES + ONE,
            "s.yaml:5:9: device must be one of auto | cpu | cuda | cuda:N, got 'gpu' (a string); "
            "did you mean 'cuda'?\n" + DEVICE_HINT,
        ),
        (
            HEAD + "device: atuo\n" + AXES + ONE,
            "s.yaml:5:9: device must be one of auto | cpu | cuda | cuda:N, got 'atuo' "
            "(a string); did you mean 'auto'?\n" + DEVICE_HINT,
        ),
        (
            HEAD + AXES + "variants: [softmax.naive, softmax.naive]\n",
            "s.yaml:6:27: this variant entry repeats case "
            "softmax.naive/b1-h1-n16-d8-full-fp32-fwd of the entry at line 6\n"
            "  hint: list each variant once; sweep a parameter with a list instead, "
            "e.g. 'params: {block_q: [128, 256]}'",
        ),
        (
            HEAD + "axes: {tokens: 100, heads: 1, seq_len: [16, 32], head_dim: 8, "
            "causal: false}\n" + ONE,
            "s.yaml:5:41: seq_len 16 does not divide tokens 100 (batch = tokens / seq_len must "
            "be a positive integer)\n"
            "  hint: use sequence lengths that divide the token count, e.g. powers of two",
        ),
        (
            HEAD + AXES + "variants:\n  - {name: softmax.naive, params: {block_q: 64}}\n",
            "s.yaml:7:36: softmax.naive takes no parameters, got 'block_q'\n"
            "  hint: remove 'params' from this entry",
        ),
        (
            HEAD + "axes: {batch: 1, heads: 1, seq_len: [16, 32], head_dim: [8, 16, 32], "
            "causal: false, zip: [[seq_len, head_dim]]}\n" + ONE,
            "s.yaml:5:57: zipped axes must have equal lengths: head_dim has 3 values, seq_len "
            "has 2\n  hint: zip pairs the i-th values of seq_len, head_dim; list as many of each",
        ),
        (
            HEAD + "device: cpux\n" + AXES + ONE,
            "s.yaml:5:9: device must be one of auto | cpu | cuda | cuda:N, got 'cpux' "
            "(a string); did you mean 'cpu'?\n" + DEVICE_HINT,
        ),
        (
            "version: 1\nname: {a: 1}\ndtype: fp32\npass: [fwd]\n" + AXES + ONE,
            "s.yaml:2:7: name must be a string, got a mapping",
        ),
        (
            HEAD + "axes: {batch: 1, heads: 1, seq_len: 16, head_dim: 8, head_dim_v: [null, 8], "
            "causal: false}\n" + ONE,
            "s.yaml:6:12: this variant entry produces case "
            "softmax.naive/b1-h1-n16-d8-full-fp32-fwd twice\n"
            "  hint: two axis values describe the same case; head_dim_v equal to head_dim, "
            "heads_kv equal to heads and seq_len_kv equal to seq_len are the same as leaving "
            "them out (null)",
        ),
    ],
    ids=[
        "tokens-and-batch", "zip-twice", "device-gpu", "device-typo", "duplicate-variant",
        "tokens-divide", "no-params", "zip-lengths", "device-cpu-typo", "name-mapping",
        "same-case-twice",
    ],
)
def test_suite_messages(text: str, message: str) -> None:
    assert _message(text) == message


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_every_device_spelling_loads(device: str) -> None:
    suite = load_suite_text(HEAD + f"device: {device}\n" + AXES + ONE, "s.yaml")
    assert suite.device == device


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [("a and", "a term is missing at the end"), ("a (", "unexpected '('")],
)
def test_keyword_messages(pattern: str, problem: str) -> None:
    with pytest.raises(InputError) as err:
        compile_patterns([pattern])
    assert str(err.value) == (
        f"-k {pattern!r}: {problem}; write terms joined by and/or/not, e.g. "
        "-k 'sinkhorn and not causal' or -k 'softmax.*/*-n128-*'"
    )
