"""Demo attnbench plugin: importing this module registers ``demo.scaled``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from attnbench.case import Case
from attnbench.variants import Inputs, ParamSpec, Variant, VariantInfo, register
from attnbench.variants.base import naive_softmax_attention, sdpa_flops


@register(default=True)
class DemoScaled(Variant):
    """softmax(scale·QKᵀ/√D)V through torch SDPA; ``scale`` is a variant parameter."""

    info = VariantInfo(
        name="demo.scaled",
        summary="softmax attention with a tunable score scale (plugin demo)",
        memory_complexity="O(N)",
        skips_masked=True,
        params=(ParamSpec("scale", 1.0, float, "multiplies the 1/sqrt(D) score scale", 0.0),),
        flops_model="4BHN^2D (SDPA)",
    )

    def score_scale(self, case: Case) -> float:
        return float(self.param(case, "scale")) / math.sqrt(case.head_dim)

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return F.scaled_dot_product_attention(
            inputs["q"],
            inputs["k"],
            inputs["v"],
            is_causal=case.causal,
            scale=self.score_scale(case),
        )

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return naive_softmax_attention(
            inputs["q"], inputs["k"], inputs["v"], case.causal, scale=self.score_scale(case)
        )

    def forward_flops(self, case: Case) -> int:
        return sdpa_flops(case, self.info.skips_masked)
