"""attnbench: benchmark and profile attention kernels.

Stable Python API (design §3.4)::

    import attnbench
    suite = attnbench.load_suite("suites/smoke.yaml")
    run = attnbench.run_suite(suite, device="cpu")
    run = attnbench.load_results("results/run.json")

    from attnbench import variants, Case
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from attnbench.errors import AttnbenchError

__version__ = "0.1.0"

__all__ = [
    "AttnbenchError",
    "Case",
    "__version__",
    "load_results",
    "load_suite",
    "run_suite",
    "variants",
]

if TYPE_CHECKING:
    from attnbench import variants
    from attnbench.case import Case
    from attnbench.results.store import load_results
    from attnbench.runner import run_suite
    from attnbench.suite.loader import load_suite


def __getattr__(name: str) -> Any:
    # Imported lazily so `import attnbench` stays cheap (no torch until a kernel is needed:
    # the command line answers `validate` and `gate` without it) and free of import cycles.
    if name == "variants":
        import attnbench.variants

        return attnbench.variants
    if name == "Case":
        from attnbench.case import Case

        return Case
    if name == "load_suite":
        from attnbench.suite.loader import load_suite

        return load_suite
    if name == "run_suite":
        from attnbench.runner import run_suite

        return run_suite
    if name == "load_results":
        from attnbench.results.store import load_results

        return load_results
    raise AttributeError(f"module 'attnbench' has no attribute {name!r}")
