"""Suite files: the schema, the YAML loader with located errors, and expansion into cases.

>>> from attnbench.suite import load_suite, expand
>>> suite = load_suite("suites/smoke.yaml")          # doctest: +SKIP
>>> len(expand(suite))                               # doctest: +SKIP
"""

from attnbench.suite.expand import count_cases, expand, filter_variants
from attnbench.suite.loader import content_hash, load_suite, load_suite_text
from attnbench.suite.schema import (
    AXIS_DEFAULTS,
    AXIS_NAMES,
    CHECK_MODES,
    DEVICE_CHOICES,
    FLUSH_MODES,
    POWER_MODES,
    REQUIRED_AXES,
    SUITE_VERSION,
    PowerSettings,
    Suite,
    TimingSettings,
    VariantRef,
)

__all__ = [
    "AXIS_DEFAULTS",
    "AXIS_NAMES",
    "CHECK_MODES",
    "DEVICE_CHOICES",
    "FLUSH_MODES",
    "POWER_MODES",
    "REQUIRED_AXES",
    "SUITE_VERSION",
    "PowerSettings",
    "Suite",
    "TimingSettings",
    "VariantRef",
    "content_hash",
    "count_cases",
    "expand",
    "filter_variants",
    "load_suite",
    "load_suite_text",
]
