"""The correctness check: reduced copies, tolerances, gradients, and catching a wrong kernel."""

from __future__ import annotations

import torch

from attnbench import Case, variants
from attnbench.measure.check import REDUCED_N, check_case, reduced_case
from attnbench.variants.base import Inputs
from attnbench.variants.softmax import SoftmaxNaive

CPU = torch.device("cpu")


def test_reduced_case_caps_batch_and_n_raggedly() -> None:
    c = Case(4, 8, 4096, 64, True, "bf16", {"iters": 3}, "sinkhorn.naive", "fwd_bwd")
    r = reduced_case(c, "reduced")
    assert (r.batch, r.seq_len, r.heads, r.head_dim) == (1, REDUCED_N, 8, 64)
    assert (r.causal, r.dtype, r.params, r.pass_) == (True, "bf16", {"iters": 3}, "fwd_bwd")
    assert reduced_case(c.replace(seq_len=300), "reduced").seq_len == 300
    assert reduced_case(c, "full") == c


def test_correct_kernel_passes_with_gradients() -> None:
    c = Case(2, 2, 700, 16, True, "fp32", {}, "softmax.streaming", "fwd_bwd")
    r = check_case(variants.get("softmax.streaming"), c, CPU)
    assert r.passed and r.reason == ""
    assert r.checked_id == "b1-h2-n509-d16-causal-fp32-fwd_bwd"
    assert r.max_abs < 1e-5 and r.grad_max_rel is not None and r.grad_max_rel < 1e-5


class LeakyCausal(SoftmaxNaive):
    """A deliberately wrong kernel: ignores the causal mask."""

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return super().forward(inputs, case.replace(causal=False))


def test_wrong_kernel_fails_with_reason() -> None:
    c = Case(1, 2, 64, 16, True, "fp32", {}, "softmax.naive", "fwd")
    r = check_case(LeakyCausal(), c, CPU)
    assert not r.passed
    assert r.reason.startswith("output differs from reference")
    assert r.max_abs > 0.1


class WrongGradient(SoftmaxNaive):
    """Right forward values, wrong gradient (detached keys)."""

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return super().forward({**inputs, "k": inputs["k"].detach()}, case)


def test_wrong_gradient_is_caught() -> None:
    c = Case(1, 2, 64, 16, False, "fp32", {}, "softmax.naive", "fwd_bwd")
    r = check_case(WrongGradient(), c, CPU)
    assert r.max_abs < 1e-5
    assert not r.passed and "gradient of 'k'" in r.reason


def test_nan_output_fails() -> None:
    class NaNs(SoftmaxNaive):
        def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
            return super().forward(inputs, case) * float("nan")

    r = check_case(NaNs(), Case(1, 1, 8, 4, variant="softmax.naive"), CPU)
    assert not r.passed


def test_full_mode_checks_the_real_shape() -> None:
    c = Case(2, 1, 600, 4, False, "fp32", {}, "softmax.naive", "fwd")
    full = check_case(variants.get("softmax.naive"), c, CPU, mode="full")
    assert full.passed and full.checked_id == "b2-h1-n600-d4-full-fp32-fwd"
    reduced = check_case(variants.get("softmax.naive"), c, CPU)
    assert reduced.checked_id == f"b1-h1-n{REDUCED_N}-d4-full-fp32-fwd"
