"""The test-only variant ``testonly.killer`` (registered by ``--plugin tests.runner.killer``).

It is softmax.naive, except that in the process whose ``RANK`` equals ``ATTNBENCH_TEST_KILL_RANK``
its first call sends the process SIGKILL — a rank that dies outright, mid-case, with no
chance to clean up.
"""

from __future__ import annotations

import os
import signal

from attnbench import Case
from attnbench.variants.base import Inputs
from attnbench.variants.softmax import SoftmaxNaive

KILL_RANK_ENV = "ATTNBENCH_TEST_KILL_RANK"


class Killer(SoftmaxNaive):
    info = SoftmaxNaive.info.__class__(**{**SoftmaxNaive.info.__dict__,
                                         "name": "testonly.killer"})

    def forward(self, inputs: Inputs, case: Case) -> object:  # type: ignore[override]
        target = os.environ.get(KILL_RANK_ENV)
        if target is not None and os.environ.get("RANK") == target:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().forward(inputs, case)

