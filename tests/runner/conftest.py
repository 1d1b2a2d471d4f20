"""The CLI fixtures (``cli``, ``tiny_suite``) for runner tests that go through the command line."""

from tests.cli.conftest import cli, tiny_suite

__all__ = ["cli", "tiny_suite"]
