"""How many frames torch.compile (dynamo) has compiled in this process, to count per phase.

A compiled kernel that recompiles after its setup phase puts the compile into the warm-up or
the samples and times the wrong graph; dynamo also allows only a limited number of compiled
variants per function (``recompile_limit``). The harness reads this count around a case's
phases and stores the differences (``compile/setup_compiles``, ``compile/recompiles``).
"""

from __future__ import annotations

import sys


def compile_count() -> int:
    """Frames dynamo compiled so far (``counters["frames"]["ok"]``); 0 before dynamo loads.

    Importing dynamo costs seconds, so a process that never loaded it has compiled nothing and
    is not made to load it here.
    """
    utils = sys.modules.get("torch._dynamo.utils")
    if utils is None:
        return 0
    counters = getattr(utils, "counters", None)
    if counters is None:
        return 0
    return int(counters["frames"]["ok"])
