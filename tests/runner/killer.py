"""Test-only plugin: ``--plugin tests.runner.killer`` registers ``testonly.killer``."""

from attnbench import variants
from tests.runner.killer_variant import Killer

variants.register(Killer)
