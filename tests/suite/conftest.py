"""Suite tests share the in-process CLI fixture of tests/cli."""

from tests.cli.conftest import cli as cli
