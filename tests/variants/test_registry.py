"""The variant registry: names, resolution, errors, duplicates and every variant's contract."""

from __future__ import annotations

import pytest
import torch

from attnbench import Case, variants
from attnbench.errors import AttnbenchError, UnknownVariantError
from attnbench.variants import registry
from attnbench.variants.base import Inputs, Variant, VariantInfo

SMALL = Case(batch=1, heads=2, seq_len=64, head_dim=32)
MINE = {
    "primal": ("primal.landmark", "primal.causal"),
    "npt": ("npt.abd", "npt.aba"),
    "sinkhorn": ("sinkhorn.naive", "sinkhorn.streaming"),
    "cpe": ("cpe.mlp",),
    "multiscale": ("multiscale.blocks",),
}


def test_names_sorted_and_contain_the_families() -> None:
    names = variants.names()
    assert names == sorted(names)
    for impls in MINE.values():
        assert set(impls) <= set(names)
    assert "softmax.sdpa" in names


@pytest.mark.parametrize("family,impls", sorted(MINE.items()))
def test_bare_family_resolves_to_default(family: str, impls: tuple[str, ...]) -> None:
    assert variants.resolve(family) == impls[0]
    assert variants.families()[family] == impls[0]
    assert variants.get(family).info.name == impls[0]
    impl = impls[-1].split(".", 1)[1]
    assert variants.resolve(family, impl) == impls[-1]


def test_unknown_name_lists_names_and_suggests() -> None:
    with pytest.raises(UnknownVariantError) as err:
        variants.get("sinkorn.naive")
    message = str(err.value)
    assert "Did you mean 'sinkhorn.naive'" in message
    assert "primal" in message and "softmax" in message  # the known families
    assert isinstance(err.value, AttnbenchError) and isinstance(err.value, KeyError)
    with pytest.raises(UnknownVariantError) as err:
        variants.resolve("primal", "landmarks")
    message = str(err.value)
    assert "Did you mean 'primal.landmark'" in message
    assert "primal.causal" in message and "primal.landmark" in message  # the family's impls


def test_duplicate_registration_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_classes", dict(registry._classes))
    monkeypatch.setattr(registry, "_defaults", dict(registry._defaults))

    class Impostor(Variant):
        info = VariantInfo(name="sinkhorn.naive", summary="a second sinkhorn.naive")

        def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
            raise NotImplementedError

        def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
            raise NotImplementedError

        def forward_flops(self, case: Case) -> int:
            return 1

    with pytest.raises(ValueError, match="registered twice"):
        registry.register(Impostor)
    original = variants.get_class("sinkhorn.naive")
    assert registry.register(original) is original  # re-registering the same class is fine


def test_name_without_family_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_classes", dict(registry._classes))

    class Bare(Variant):
        info = VariantInfo(name="bare", summary="no family")

    with pytest.raises(ValueError, match=r"family\.impl"):
        registry.register(Bare)


def small_case(v: Variant) -> Case:
    """SMALL, made causal when the variant only runs causal cases."""
    if v.unsupported(SMALL) and v.info.causal and v.unsupported(SMALL.replace(causal=True)) is None:
        return SMALL.replace(causal=True)
    return SMALL


@pytest.mark.parametrize("name", variants.names())
def test_every_variant_info_is_consistent(name: str) -> None:
    v = variants.get(name)
    info = v.info
    assert info.name == name and "." in name and info.family and info.impl
    assert info.summary
    assert info.time_complexity.startswith("O(") and info.memory_complexity.startswith("O(")
    assert info.flops_model
    assert info.causal or info.causal_note, "a variant without causal support must say why"
    assert info.bwd_multiplier > 0
    for spec in info.params:
        assert spec.problem(spec.default) is None, f"{spec.name} default fails its own check"
    case = small_case(v)
    if v.unsupported(case) is not None:
        pytest.skip(f"{name} cannot run the small case: {v.unsupported(case)}")
    from tests.variants.test_cost_models import FLOPS

    if name in FLOPS:  # the independent count (multiscale has its own test there)
        assert v.forward_flops(case) == FLOPS[name](case)
    assert v.forward_flops(case) > 0
    inputs = v.make_inputs(case)
    e = inputs["q"].element_size()
    out_numel = case.batch * case.heads * case.seq_len * case.dv  # [B, H, N, Dv]
    # at least q read once and the output written once; the output is held in working memory
    assert v.bytes_moved(case) >= e * (inputs["q"].numel() + out_numel)
    assert v.memory_bytes(case) >= e * out_numel
    assert v.exp_count(case) >= 0
    inputs_keys = set(inputs)
    assert {"q", "k", "v"} <= inputs_keys
    assert set(info.extra_inputs) <= inputs_keys


@pytest.mark.parametrize(
    "name", [n for n in variants.names() if variants.get(n).info.memory_complexity == "O(N)"]
)
def test_linear_memory_variants_grow_linearly(name: str) -> None:
    v = variants.get(name)
    case = small_case(v).replace(seq_len=4096)
    if v.unsupported(case) is not None:
        pytest.skip(f"{name}: {v.unsupported(case)}")
    m1, m2, m4 = (v.memory_bytes(case.replace(seq_len=case.seq_len * f)) for f in (1, 2, 4))
    assert m2 / m1 <= 2.1 and m4 / m2 <= 2.1, (m1, m2, m4)
    assert m2 > m1 and m4 > m2


SDPA_BACKED = ["softmax.sdpa", "alt.naive", "cpe.mlp", "dipole.v2", "npt.abd", "npt.aba",
               "multiscale.blocks", "time.concat", "time.fused", "semantic.fused"]


@pytest.mark.parametrize("name", SDPA_BACKED)
def test_sdpa_backed_variants_record_the_sdpa_backend(name: str) -> None:
    v = variants.get(name)
    case = small_case(v)
    assert v.backend(v.make_inputs(case), case) in ("sdpa.flash", "sdpa.math", "sdpa.efficient",
                                                      "sdpa.cudnn")
