"""A test plugin (``--plugin tests.runner.crashy_plugin``) whose variants misbehave for real.

* ``crashy.segv`` reads address 0 through ctypes: the process dies of SIGSEGV;
* ``crashy.abort`` calls ``os.abort()``: SIGABRT;
* ``crashy.hang`` sleeps for ten minutes inside forward.

Never call these in the test process itself: only inside ``run --isolate`` workers.
"""

from __future__ import annotations

import ctypes
import os
import time

import torch

from attnbench.case import Case
from attnbench.variants import Inputs, Variant, VariantInfo, register
from attnbench.variants.base import naive_softmax_attention, sdpa_flops


class _Crashy(Variant):
    def misbehave(self) -> None:
        raise NotImplementedError

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        self.misbehave()
        return naive_softmax_attention(inputs["q"], inputs["k"], inputs["v"], case.causal)

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return naive_softmax_attention(inputs["q"], inputs["k"], inputs["v"], case.causal)

    def forward_flops(self, case: Case) -> int:
        return sdpa_flops(case, False)


@register
class Segv(_Crashy):
    info = VariantInfo(name="crashy.segv", summary="segfaults in forward (test plugin)")

    def misbehave(self) -> None:
        ctypes.string_at(0)


@register
class Abort(_Crashy):
    info = VariantInfo(name="crashy.abort", summary="aborts in forward (test plugin)")

    def misbehave(self) -> None:
        os.abort()


@register
class Hang(_Crashy):
    info = VariantInfo(name="crashy.hang", summary="sleeps 10 minutes in forward (test plugin)")

    def misbehave(self) -> None:
        time.sleep(600)
