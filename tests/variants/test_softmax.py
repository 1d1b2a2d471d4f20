"""Every softmax implementation against the float64 reference, causal and not, ragged N."""

from __future__ import annotations

import pytest
import torch

from attnbench import Case, variants
from attnbench.errors import UnsupportedCase
from attnbench.variants.softmax import streaming_softmax

RUNNABLE_ON_CPU = ["softmax.naive", "softmax.sdpa", "softmax.sdpa_math", "softmax.sdpa_flash",
                   "softmax.streaming"]


def max_err(name: str, case: Case) -> float:
    v = variants.get(name)
    inputs = v.make_inputs(case, seed=3)
    out = v(inputs, case)
    ref = v.reference({k: t.double() for k, t in inputs.items()}, case)
    assert out.shape == (case.batch, case.heads, case.seq_len, case.dv)
    assert out.dtype == case.torch_dtype
    return float((out.double() - ref).abs().max())


@pytest.mark.parametrize("name", RUNNABLE_ON_CPU)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [1, 64, 127, 509])
def test_matches_reference_fp32(name: str, causal: bool, n: int) -> None:
    case = Case(2, 3, n, 16, causal, "fp32", {}, name)
    assert max_err(name, case) < 2e-5


@pytest.mark.parametrize("name", RUNNABLE_ON_CPU)
def test_matches_reference_bf16(name: str) -> None:
    case = Case(1, 2, 130, 32, True, "bf16", {}, name)
    assert max_err(name, case) < 3e-2


def test_streaming_blocks_smaller_than_n_and_value_width() -> None:
    case = Case(1, 2, 100, 8, True, "fp32", {"block_q": 7, "block_k": 13}, "softmax.streaming",
                head_dim_v=24)
    assert max_err("softmax.streaming", case) < 2e-5


def test_streaming_gradients_match_naive() -> None:
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, 77, 8, generator=gen, dtype=torch.float64) for _ in range(3))
    for t in (q, k, v):
        t.requires_grad_(True)
    out = streaming_softmax(q, k, v, True, 16, 8)
    g = torch.autograd.grad(out.sum(), (q, k, v))
    ref = torch.softmax(
        (q @ k.transpose(-1, -2) / 8**0.5).masked_fill(
            torch.ones(77, 77, dtype=torch.bool).triu(1), float("-inf")), -1) @ v
    g_ref = torch.autograd.grad(ref.sum(), (q, k, v))
    for a, b in zip(g, g_ref, strict=True):
        assert torch.allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("name", ["softmax.sdpa_efficient", "softmax.sdpa_cudnn"])
def test_pinned_backend_that_cannot_run_raises_unsupported(name: str) -> None:
    if torch.cuda.is_available():
        pytest.skip("these backends may run on a GPU")
    case = Case(1, 2, 16, 8, False, "fp32", {}, name)
    v = variants.get(name)
    with pytest.raises(UnsupportedCase, match="cannot run this case on cpu"):
        v(v.make_inputs(case), case)


def test_sdpa_records_backend_that_ran() -> None:
    case = Case(1, 2, 64, 16, False, "fp32", {}, "softmax.sdpa")
    v = variants.get("softmax.sdpa")
    assert v.backend(v.make_inputs(case), case) in ("sdpa.flash", "sdpa.math")
    assert variants.get("softmax.sdpa_math").backend(v.make_inputs(case), case) == "sdpa.math"


def test_flop_models() -> None:
    full = Case(2, 4, 100, 16, False, "fp32", {}, "softmax.sdpa")
    causal = full.replace(causal=True)
    # 4·B·H·N²·D with D = Dv: 4·2·4·100²·16
    assert variants.get("softmax.sdpa").forward_flops(full) == 4 * 2 * 4 * 100**2 * 16
    # tile-skipping kernels count the N(N+1)/2 visible pairs; the naive one does the full work
    assert variants.get("softmax.sdpa").forward_flops(causal) == 2 * 2 * 4 * 5050 * 32
    assert variants.get("softmax.naive").forward_flops(causal) == 4 * 2 * 4 * 100**2 * 16
    bwd = full.replace(pass_="fwd_bwd")
    assert variants.get("softmax.sdpa").flops(bwd) == int(3.5 * 4 * 2 * 4 * 100**2 * 16)


@pytest.mark.slow
def test_flex_matches_reference_and_compiles_in_setup() -> None:
    case = Case(1, 2, 128, 16, True, "fp32", {}, "softmax.flex")
    v = variants.get("softmax.flex")
    inputs = v.make_inputs(case)
    v.setup(inputs, case)
    ref = v.reference({k: t.double() for k, t in inputs.items()}, case)
    assert float((v(inputs, case).double() - ref).abs().max()) < 2e-5
    assert v.backend(inputs, case) == "flex.compiled"


def test_flex_compile_never_falls_back_to_eager_silently() -> None:
    from attnbench.variants.softmax import FLEX_RECOMPILE_LIMIT, compiled_flex_attention

    compiled_flex_attention()
    config = torch._dynamo.config
    assert config.recompile_limit >= FLEX_RECOMPILE_LIMIT
    assert config.fail_on_recompile_limit_hit is True


@pytest.mark.slow
def test_cog_flex_runs_fp16_on_cpu() -> None:
    case = Case(1, 2, 64, 16, True, "fp16", {}, "cog.flex")
    v = variants.get("cog.flex")
    assert v.unsupported(case, "cpu") is None
    inputs = v.make_inputs(case)
    ref = v.reference({k: t.double() for k, t in inputs.items()}, case)
    assert float((v(inputs, case).double() - ref).abs().max()) < 4e-3
