"""Every registered variant's FLOP, exponential and byte counts against independent counts.

The expected numbers are written here from each variant's documented model (its
``flops_model`` string and ``reference/variants.md``): visible query-key pairs times widths,
two FLOPs per multiply-add. Nothing below calls the variants' own counting helpers, so a
changed factor, a lost causal halving or a swapped width fails here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from attnbench import Case, variants

B, H, N, D = 2, 4, 64, 16
DV = 8  # a value width unlike D, so D and Dv cannot be swapped unnoticed


def pairs(n: int, causal: bool, skips: bool) -> int:
    """Query-key pairs per (batch, head): N(N+1)/2 when masked work is skipped, else N²."""
    return n * (n + 1) // 2 if causal and skips else n * n


Flops = Callable[[Case], int]


def sdpa_like(skips: bool, scale: int = 1) -> Flops:
    """scale × (2BH·P·D for QKᵀ + 2BH·P·Dv for PV)."""
    return lambda c: scale * 2 * c.batch * c.heads * pairs(c.seq_len, c.causal, skips) * (
        c.head_dim + c.dv
    )


def alt(c: Case) -> int:
    p = pairs(c.seq_len, c.causal, True)
    d_out = c.dv  # default d_out=0 means Dv; W applied after (D_out == Dv)
    return 2 * c.batch * c.heads * (p * c.head_dim + p * c.dv + c.seq_len * c.dv * d_out)


def cpe(c: Case) -> int:
    mlp = 2 * c.batch * c.seq_len * (64 + 64 * c.heads * c.head_dim)
    return mlp + sdpa_like(True)(c)


def dipole_v1(c: Case) -> int:
    p = pairs(c.seq_len, c.causal, True)
    return 2 * c.batch * c.heads * p * c.head_dim + 2 * 2 * c.batch * c.heads * p * c.dv


def npt_aba(c: Case) -> int:
    d = 8  # attributes
    e, e_v = c.heads * c.head_dim // d, c.heads * c.dv // d
    return 2 * c.batch * c.seq_len * d * d * (e + e_v)


def npt_abd(c: Case) -> int:
    return 2 * c.batch * c.heads * c.seq_len**2 * (c.head_dim + c.dv)


def primal_causal(c: Case) -> int:
    s = 20
    return 4 * c.batch * c.heads * c.seq_len * c.head_dim * s + 4 * c.batch * c.heads * (
        c.seq_len * s * c.dv
    )


def primal_landmark(c: Case) -> int:
    s, m = 20, min(200, c.seq_len)
    return primal_causal(c) + 4 * c.batch * c.heads * c.head_dim * m * s


def semantic_bias(c: Case) -> int:
    d_model = c.heads * c.head_dim
    return 2 * c.batch * c.seq_len**2 * d_model + sdpa_like(False)(c)


def semantic_fused(c: Case) -> int:
    d_model = c.heads * c.head_dim
    p = pairs(c.seq_len, c.causal, True)
    return 2 * c.batch * c.heads * p * (c.head_dim + d_model) + 2 * c.batch * c.heads * p * c.dv


def sinkhorn_streaming(c: Case) -> int:
    iters = int(c.params.get("iters", 5))
    recomputed = iters if iters % 2 else iters + 1  # the last row step fuses into PV when odd
    bh_n2 = c.batch * c.heads * c.seq_len**2
    return recomputed * 2 * bh_n2 * c.head_dim + 2 * bh_n2 * c.dv


def softmax_free_linear(c: Case) -> int:
    bh = c.batch * c.heads
    if not c.causal:
        return 4 * bh * c.seq_len * c.head_dim * c.dv
    chunk = min(128, c.seq_len)
    padded = -(-c.seq_len // chunk) * chunk
    return 4 * bh * padded * c.head_dim * c.dv + 2 * bh * padded * chunk * (c.head_dim + c.dv)


def time_features(c: Case) -> int:
    m = 16
    p = pairs(c.seq_len, c.causal, True)
    return 2 * c.batch * c.heads * p * (c.head_dim + 2 * m) + 2 * c.batch * c.heads * p * c.dv


FLOPS: dict[str, Flops] = {
    "alt.naive": alt,
    "cog.flex": sdpa_like(True, scale=2),  # one call over doubled keys [K; K]
    "cog.naive": sdpa_like(False),
    "cog.streaming": sdpa_like(True),
    "cpe.mlp": cpe,
    "dipole.v1": dipole_v1,
    "dipole.v2": sdpa_like(True, scale=2),
    "npt.aba": npt_aba,
    "npt.abd": npt_abd,
    "primal.causal": primal_causal,
    "primal.landmark": primal_landmark,
    "semantic.bias": semantic_bias,
    "semantic.fused": semantic_fused,
    "sinkhorn.naive": sdpa_like(False),
    "sinkhorn.streaming": sinkhorn_streaming,
    "softmax.flex": sdpa_like(True),
    "softmax.naive": sdpa_like(False),
    "softmax.sdpa": sdpa_like(True),
    "softmax.sdpa_cudnn": sdpa_like(True),
    "softmax.sdpa_efficient": sdpa_like(True),
    "softmax.sdpa_flash": sdpa_like(True),
    "softmax.sdpa_math": sdpa_like(False),
    "softmax.streaming": sdpa_like(True),
    "softmax_free.linear": softmax_free_linear,
    "softmax_free.quadratic": sdpa_like(True),
    "time.concat": time_features,
    "time.fused": time_features,
}

def shapes(name: str) -> list[Case]:
    v = variants.get(name)
    out = []
    for causal in (False, True):
        for dv in (None, DV):
            c = Case(B, H, N, D, causal, "fp32", {}, name, "fwd", head_dim_v=dv)
            if v.unsupported(c) is None:
                out.append(c)
    return out


def test_every_registered_variant_has_an_independent_count() -> None:
    builtin = {n for n in variants.names() if not n.startswith("demo")}
    assert builtin - {"multiscale.blocks"} <= set(FLOPS), sorted(builtin - set(FLOPS))


@pytest.mark.parametrize("name", sorted(FLOPS))
def test_forward_flops_match_the_documented_model(name: str) -> None:
    v = variants.get(name)
    cases = shapes(name)
    assert cases, f"{name} supports none of the test shapes"
    if v.info.causal:
        assert any(c.causal for c in cases), f"{name} claims causal support"
    for c in cases:
        assert v.forward_flops(c) == FLOPS[name](c), c.case_id


def test_multiscale_flops_follow_its_scales() -> None:
    v = variants.get("multiscale.blocks")
    scales = [16, 32]
    for causal in (False, True):
        c = Case(1, 2, 48, 16, causal, "fp32", {"scales": scales}, "multiscale.blocks")
        total, hd = sum(scales), c.heads * c.head_dim
        p = pairs(c.seq_len, causal, True)
        expected = 4 * c.batch * p * total + 6 * c.batch * c.seq_len * hd * total + (
            2 * c.batch * c.seq_len * total * c.heads * c.dv
        )
        assert v.forward_flops(c) == expected


@pytest.mark.parametrize(("pass_", "factor"), [("fwd", 1.0), ("bwd", 2.5), ("fwd_bwd", 3.5)])
def test_pass_multiplies_the_forward_count(pass_: str, factor: float) -> None:
    for name in ("softmax.sdpa", "cog.streaming", "dipole.v1"):
        v = variants.get(name)
        c = Case(B, H, N, D, True, "fp32", {}, name, pass_)
        assert v.flops(c) == round(factor * FLOPS[name](c.replace(pass_="fwd")))
    primal = variants.get("primal.causal")
    c = Case(B, H, N, D, True, "fp32", {}, "primal.causal", pass_)
    assert primal.flops(c) == round({"fwd": 1.0, "bwd": 2.0, "fwd_bwd": 3.0}[pass_]
                                    * primal_causal(c))


def _exp_expected(name: str, c: Case) -> int:
    bh = c.batch * c.heads
    full = bh * c.seq_len**2
    skip = bh * pairs(c.seq_len, c.causal, True)
    table = {
        "softmax.naive": full,
        "softmax.sdpa_math": full,
        "softmax.sdpa": skip,
        "softmax.streaming": skip,
        "cog.naive": full,  # one exp of |s| per score
        "cog.streaming": skip,
        "dipole.v1": skip,  # exp(|s|) once, sign-routed to V or V2
        "dipole.v2": 2 * skip,  # softmax(S) and softmax(-S): exp(-x) is not reused
        "cpe.mlp": skip + 64 * c.batch * c.seq_len,
        "time.concat": skip + 2 * c.batch * c.seq_len * 16,
        "sinkhorn.naive": 6 * full,  # iters + 1 logsumexp passes at the default iters = 5
        "softmax_free.linear": 0,
        "softmax_free.quadratic": 0,
        "primal.causal": 2 * bh * c.seq_len,
            }
    return table[name]


@pytest.mark.parametrize(
    "name",
    ["softmax.naive", "softmax.sdpa_math", "softmax.sdpa", "softmax.streaming", "cog.naive",
     "cog.streaming", "dipole.v1", "dipole.v2", "cpe.mlp", "time.concat", "sinkhorn.naive",
     "softmax_free.linear", "softmax_free.quadratic", "primal.causal"],
)
def test_exponential_counts(name: str) -> None:
    for c in shapes(name):
        assert variants.get(name).exp_count(c) == _exp_expected(name, c), c.case_id


@pytest.mark.parametrize(
    ("name", "dtype", "expected"),
    [
        # e·B·H·N·(2D + 2Dv): q, k, v read once and the output written once
        ("softmax.sdpa", "fp32", 4 * B * H * N * (2 * D + 2 * D)),
        ("softmax.sdpa", "bf16", 2 * B * H * N * (2 * D + 2 * D)),
        # cog.streaming reads like SDPA; cog.flex reads q once and the doubled k, v
        ("cog.streaming", "fp16", 2 * B * H * N * (2 * D + 2 * D)),
        ("cog.flex", "fp16", 2 * B * H * N * (3 * D + 3 * D)),
        # dipole: q, k, v, v2 and the output
        ("dipole.v1", "fp32", 4 * B * H * N * (2 * D + 3 * D)),
        # time: plus fp32 timestamps [B, N]
        ("time.concat", "fp32", 4 * B * H * N * (4 * D) + 8 * B * N),  # t is float64
        # semantic: plus x [B, N, H·D]
        ("semantic.bias", "fp32", 4 * (B * H * N * 4 * D + B * N * H * D)),
    ],
)
def test_bytes_moved(name: str, dtype: str, expected: int) -> None:
    c = Case(B, H, N, D, False, dtype, {}, name)
    assert variants.get(name).bytes_moved(c) == expected


@pytest.mark.parametrize("iters", [1, 4, 5])
def test_sinkhorn_streaming_recomputes_per_iteration(iters: int) -> None:
    c = Case(B, H, N, D, False, "fp32", {"iters": iters}, "sinkhorn.streaming", head_dim_v=DV)
    assert variants.get("sinkhorn.streaming").forward_flops(c) == sinkhorn_streaming(c)


def test_alt_applies_w_first_when_it_narrows_the_values() -> None:
    # D_out < Dv: W is applied to V first, so PV runs at width D_out.
    d_out = 4
    for causal in (False, True):
        c = Case(B, H, N, D, causal, "fp32", {"d_out": d_out}, "alt.naive", head_dim_v=DV)
        p = pairs(N, causal, True)
        expected = 2 * B * H * (p * D + p * d_out + N * DV * d_out)
        assert variants.get("alt.naive").forward_flops(c) == expected
