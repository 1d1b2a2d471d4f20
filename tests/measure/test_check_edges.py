"""The check's tolerances at their edges, and gradient checks in every pass that has them.

Each kernel here is wrong by a known amount: an output offset, or a gradient scaled by a known
factor with the forward values unchanged, so the error the check sees is known in advance and
the verdict can be tested just inside and just outside the bound.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import pytest
import torch

from attnbench import Case
from attnbench.measure.check import check_case
from attnbench.variants.base import DEFAULT_TOLERANCE, Inputs
from attnbench.variants.softmax import SoftmaxNaive

CPU = torch.device("cpu")


def test_default_tolerances_are_pinned() -> None:
    # A loosened tolerance lets wrong kernels through; these numbers are part of the contract.
    assert dict(DEFAULT_TOLERANCE) == {
        "fp64": (1e-10, 1e-10),
        "fp32": (2e-4, 2e-4),
        "fp16": (4e-3, 1e-2),
        "bf16": (3e-2, 2e-2),
    }


def _bound(case: Case) -> float:
    """atol + rtol * max|ref| for ``case`` on softmax.naive, from the same inputs the check uses."""
    v = SoftmaxNaive()
    inputs = v.make_inputs(case, CPU, 0)
    ref = v.reference({k: t.double() for k, t in inputs.items()}, case)
    atol, rtol = v.tolerance(case.dtype)
    return atol + rtol * float(ref.abs().max())


class Offset(SoftmaxNaive):
    """The exact float64 answer plus a constant ``delta``: max_abs is ``delta`` by design."""

    delta = 0.0

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        exact = self.reference({k: t.double() for k, t in inputs.items()}, case)
        return exact + self.delta


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize(
    ("factor", "passes"), [(0.5, True), (0.98, True), (1.02, False), (2.0, False)]
)
def test_output_tolerance_edge(dtype: str, factor: float, passes: bool) -> None:
    case = Case(1, 2, 48, 16, False, dtype, {}, "softmax.naive", "fwd")
    kernel = Offset()
    kernel.delta = factor * _bound(case)
    r = check_case(kernel, case, CPU)
    assert r.passed is passes, r.reason
    assert r.max_abs == pytest.approx(kernel.delta, rel=1e-6)


def test_fp32_output_off_by_1e3_fails() -> None:
    kernel = Offset()
    kernel.delta = 1e-3
    r = check_case(kernel, Case(1, 2, 48, 16, variant="softmax.naive"), CPU)
    assert not r.passed and r.reason.startswith("output differs from reference")


class ScaledGradient(SoftmaxNaive):
    """Forward values unchanged; every input gradient scaled by ``1 + eps``."""

    eps = 0.0

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        exact = self.reference({k: t.double() for k, t in inputs.items()}, case)
        return exact + self.eps * (exact - exact.detach())


class DetachedKey(SoftmaxNaive):
    """Right forward values, no gradient for k."""

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return super().forward({**inputs, "k": inputs["k"].detach()}, case)


@pytest.mark.parametrize("pass_", ["bwd", "fwd_bwd"])
def test_detached_gradient_is_caught_in_every_backward_pass(pass_: str) -> None:
    case = Case(1, 2, 64, 16, False, "fp32", {}, "softmax.naive", pass_)
    r = check_case(DetachedKey(), case, CPU)
    assert r.max_abs < 1e-5
    assert not r.passed and "gradient of 'k'" in r.reason


def _gradient_edge(case: Case) -> float:
    """The largest gradient scale error that passes: min over inputs of atol/max|g| + rtol.

    Computed independently of the check: float64 reference gradients for the output gradient
    the check draws (seed + 1).
    """
    v = SoftmaxNaive()
    inputs = {k: t.double().requires_grad_(True) for k, t in v.make_inputs(case, CPU, 0).items()}
    ref = v.reference(inputs, case)
    grad_out = torch.randn(ref.shape, generator=torch.Generator().manual_seed(1),
                           dtype=torch.float64)
    grads = torch.autograd.grad(ref, [inputs[k] for k in ("q", "k", "v")], grad_out)
    atol, rtol = v.tolerance(case.dtype)
    return min(atol / float(g.abs().max()) + rtol for g in grads)


@pytest.mark.parametrize("pass_", ["bwd", "fwd_bwd"])
@pytest.mark.parametrize(
    ("factor", "passes"), [(0.5, True), (0.97, True), (1.03, False), (2.0, False)]
)
def test_gradient_tolerance_edge(pass_: str, factor: float, passes: bool) -> None:
    case = Case(1, 2, 40, 8, True, "fp32", {}, "softmax.naive", pass_)
    clean = check_case(ScaledGradient(), case, CPU)
    assert clean.passed and clean.grad_max_rel is not None
    assert clean.grad_max_rel < 1e-6  # only the rounding of fp32 leaves
    kernel = ScaledGradient()
    kernel.eps = factor * _gradient_edge(case)
    r = check_case(kernel, case, CPU)
    assert r.max_abs < 1e-12  # forward values untouched
    assert r.grad_max_rel == pytest.approx(kernel.eps, abs=1e-6)
    if passes:
        assert r.passed, r.reason
    else:
        assert not r.passed and "gradient of" in r.reason and "differs" in r.reason


def test_forward_only_pass_checks_no_gradient() -> None:
    r = check_case(DetachedKey(), Case(1, 2, 64, 16, variant="softmax.naive"), CPU)
    assert r.passed and r.grad_max_rel is None


# _check_grads and _errors on constructed graphs ----------------------------------------------


def _grads(
    kernel: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    reference: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    atol: float = 1e-9,
    rtol: float = 1e-9,
) -> tuple[float, str]:
    from attnbench.measure.check import _check_grads

    def fresh() -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(3)
        return {k: torch.randn(2, 3, generator=gen, dtype=torch.float64).requires_grad_()
                for k in ("q", "k")}  # fmt: skip

    inputs, ref_inputs = fresh(), fresh()
    out, ref = kernel(inputs), reference(ref_inputs)
    return _check_grads(out, ref, inputs, ref_inputs, ["q", "k"], atol, rtol, seed=0)


def test_an_input_neither_side_differentiates_is_skipped() -> None:
    worst, reason = _grads(lambda x: x["q"] * 2, lambda x: x["q"] * 2)
    assert (worst, reason) == (0.0, "")


def test_a_gradient_only_the_kernel_has_is_reported_against_the_reference() -> None:
    worst, reason = _grads(lambda x: x["q"] * 2 + x["k"], lambda x: x["q"] * 2)
    assert worst == math.inf
    assert reason == "gradient of 'k' is missing from the reference (not differentiable)"
    worst, reason = _grads(lambda x: x["q"] * 2, lambda x: x["q"] * 2 + x["k"])
    assert reason == "gradient of 'k' is missing from the kernel (not differentiable)"


def test_a_gradient_exactly_at_the_tolerance_passes() -> None:
    # the kernel's gradient is twice the reference's: max_abs = max|want| = scale, exactly
    at_edge = _grads(lambda x: x["q"] * 2, lambda x: x["q"], atol=0.0, rtol=1.0)
    assert at_edge == (1.0, "")
    beyond = _grads(lambda x: x["q"] * 2, lambda x: x["q"], atol=0.0, rtol=0.999)
    assert beyond[1].startswith("gradient of 'q' differs: max_abs")


def test_errors_of_empty_tensors_are_zero() -> None:
    from attnbench.measure.check import _errors

    assert _errors(torch.empty(0), torch.empty(0, dtype=torch.float64)) == (0.0, 0.0, 0.0)


def test_a_zero_gradient_missing_on_one_side_is_skipped_and_the_next_input_checked() -> None:
    # q: the kernel ignores it, the reference multiplies it by zero (an all-zero gradient);
    # k, checked after it, is wrong by a factor of two
    worst, reason = _grads(lambda x: x["k"] * 2, lambda x: x["q"] * 0 + x["k"])
    assert worst == pytest.approx(1.0)
    assert reason.startswith("gradient of 'k' differs")
    # and one both sides ignore is skipped the same way
    _, reason = _grads(lambda x: x["k"] * 2, lambda x: x["k"])
    assert reason.startswith("gradient of 'k' differs")


@pytest.mark.parametrize(
    ("case", "shape"),
    [
        (Case(4, 32, 1, 64, True, heads_kv=4, seq_len_kv=131072), (1, 1, 509)),  # decoding
        (Case(1, 4, 4096, 64, True, seq_len_kv=32768), (1, 254, 509)),  # fewer queries
        (Case(2, 4, 8192, 64, seq_len_kv=1024), (1, 509, 254)),  # more queries
        (Case(2, 4, 8192, 64, True), (1, 509, 509)),  # square stays square
        (Case(3, 4, 300, 64, seq_len_kv=200), (1, 300, 200)),  # small: kept
    ],
)
def test_reduced_check_shapes(case: Case, shape: tuple[int, int, int]) -> None:
    from attnbench.measure.check import reduced_case

    small = reduced_case(case, "reduced")
    assert (small.batch, small.seq_len, small.nkv) == shape
    assert reduced_case(case, "full") is case


# the reported figures and wording --------------------------------------------------------------


def test_an_output_failure_is_reported_with_its_figures() -> None:
    case = Case(1, 2, 48, 16, variant="softmax.naive")
    v = SoftmaxNaive()
    ref = v.reference({k: t.double() for k, t in v.make_inputs(case, CPU, 0).items()}, case)
    scale = float(ref.abs().max())
    kernel = Offset()
    kernel.delta = 1e-3
    r = check_case(kernel, case, CPU)
    assert r.reason == (
        f"output differs from reference: max_abs {1e-3:.3g} > 0.0002 + 0.0002*{scale:.3g}"
    )
    assert (r.atol, r.rtol, r.passed, r.grad_max_rel) == (2e-4, 2e-4, False, None)
    assert r.max_rel == pytest.approx(1e-3 / scale, rel=1e-6)
    assert r.metrics() == {"error/max_abs": r.max_abs, "error/max_rel": r.max_rel}
    assert r.to_dict() == {
        "checked_id": "b1-h2-n48-d16-full-fp32-fwd", "max_abs": r.max_abs,
        "max_rel": r.max_rel, "atol": 2e-4, "rtol": 2e-4, "grad_max_rel": None,
        "passed": False, "reason": r.reason,
    }  # fmt: skip


def test_a_gradient_failure_is_reported_with_its_figures() -> None:
    case = Case(1, 2, 40, 8, True, "fp32", {}, "softmax.naive", "bwd")
    kernel = ScaledGradient()
    kernel.eps = 0.5
    r = check_case(kernel, case, CPU)
    assert r.reason.startswith("gradient of 'q' differs: max_abs ")  # q is checked first
    assert " > 0.0002 + 0.0002*" in r.reason
    assert r.metrics() == {
        "error/max_abs": r.max_abs, "error/max_rel": r.max_rel,
        "error/grad_max_rel": pytest.approx(0.5, abs=1e-6),
    }  # fmt: skip


def test_non_finite_output_is_an_infinite_error() -> None:
    from attnbench.measure.check import _errors

    want = torch.tensor([1.0, -3.0], dtype=torch.float64)
    assert _errors(torch.tensor([1.0, float("nan")]), want) == (math.inf, 3.0, math.inf)
    assert _errors(torch.tensor([float("inf"), 1.0]), want) == (math.inf, 3.0, math.inf)
    # a zero reference: the relative error is the absolute one
    assert _errors(torch.tensor([0.5, 0.0]), torch.zeros(2, dtype=torch.float64)) == (
        0.5, 0.0, 0.5
    )  # fmt: skip
    assert _errors(torch.tensor([1.5, -3.0]), want) == (0.5, 3.0, 0.5 / 3.0)


def test_nan_output_is_reported_as_infinite() -> None:
    class NaNs(SoftmaxNaive):
        def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
            return super().forward(inputs, case) * float("nan")

    r = check_case(NaNs(), Case(1, 1, 8, 4, variant="softmax.naive"), CPU)
    assert (r.max_abs, r.max_rel, r.passed) == (math.inf, math.inf, False)
    assert r.reason.startswith("output differs from reference: max_abs inf > ")


def test_the_reduced_copy_keeps_up_to_512_and_cuts_above() -> None:
    from attnbench.measure.check import REDUCED_N, reduced_case

    assert reduced_case(Case(2, 4, 512, 64), "reduced").seq_len == 512
    assert reduced_case(Case(2, 4, 513, 64), "reduced").seq_len == REDUCED_N
    cross = reduced_case(Case(2, 4, 100, 64, seq_len_kv=512), "reduced")
    assert (cross.seq_len, cross.nkv) == (100, 512)
    cut = reduced_case(Case(2, 4, 100, 64, seq_len_kv=513), "reduced")
    assert (cut.seq_len, cut.nkv) == (100, REDUCED_N)
    # N just under N_kv, both above the cap: the queries are halved so N < N_kv stays true
    near = reduced_case(Case(2, 4, 600, 64, seq_len_kv=601), "reduced")
    assert (near.seq_len, near.nkv) == (254, REDUCED_N)
    # N at the cap and N_kv above it: N = 512 >= 509, halved
    at = reduced_case(Case(2, 4, 512, 64, seq_len_kv=1000), "reduced")
    assert (at.seq_len, at.nkv) == (254, REDUCED_N)
    # N above N_kv: the keys are halved instead
    more = reduced_case(Case(2, 4, 1000, 64, seq_len_kv=512), "reduced")
    assert (more.seq_len, more.nkv) == (REDUCED_N, 254)


class Recording(SoftmaxNaive):
    """Exact values; records the output gradient the check sends back through the kernel."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []
        self.queries: list[torch.Tensor] = []

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        self.queries.append(inputs["q"].detach().clone())
        out = self.reference({k: t.double() for k, t in inputs.items()}, case).float()
        out.register_hook(lambda g: self.seen.append(g.detach().clone()))
        return out


@pytest.mark.parametrize("seed", [0, 5])
def test_the_check_draws_from_its_seed(seed: int) -> None:
    # reproducible: the output gradient is the seed + 1 standard-normal draw, in the kernel's
    # dtype
    kernel = Recording()
    case = Case(1, 2, 16, 8, False, "fp32", {}, "softmax.naive", "bwd")
    assert check_case(kernel, case, CPU, seed=seed).passed
    (grad_out,) = kernel.seen
    gen = torch.Generator().manual_seed(seed + 1)
    want = torch.randn((1, 2, 16, 8), generator=gen, dtype=torch.float64).float()
    assert grad_out.dtype == torch.float32 and torch.equal(grad_out, want)
    # and the inputs are the variant's own for that seed
    (q,) = kernel.queries
    assert torch.equal(q, kernel.make_inputs(case, CPU, seed)["q"])


class IntegerIndex(SoftmaxNaive):
    """Lists an integer input among its gradient inputs; the check must leave it alone."""

    info = dataclasses.replace(SoftmaxNaive.info, grad_inputs=("q", "k", "v", "idx"))

    def extra_inputs(self, case: Case, gen: torch.Generator) -> Inputs:
        return {"idx": torch.arange(case.seq_len)}


def test_integer_inputs_get_no_gradient() -> None:
    from attnbench.measure.check import _grad_inputs

    v = IntegerIndex()
    case = Case(1, 2, 16, 8, False, "fp32", {}, "softmax.naive", "bwd")
    inputs = v.make_inputs(case, CPU, 0)
    assert _grad_inputs(v, inputs) == ["q", "k", "v"]
    assert _grad_inputs(v, {"q": inputs["q"]}) == ["q"]  # and absent ones are skipped
    r = check_case(v, case, CPU)
    assert r.passed and r.grad_max_rel is not None
