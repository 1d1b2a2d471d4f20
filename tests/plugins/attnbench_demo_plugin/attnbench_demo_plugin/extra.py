"""A plugin variant that is not decorated: its entry point names the class itself."""

from __future__ import annotations

from attnbench.case import Case
from attnbench.variants import VariantInfo

from . import DemoScaled


class DemoPlain(DemoScaled):
    """DemoScaled with the scale fixed at 1/√D (no parameters)."""

    info = VariantInfo(
        name="demo.plain",
        summary="plain softmax attention registered as a class entry point (plugin demo)",
        memory_complexity="O(N)",
        skips_masked=True,
        flops_model="4BHN^2D (SDPA)",
    )

    def score_scale(self, case: Case) -> float:
        return 1.0 / float(case.head_dim) ** 0.5
