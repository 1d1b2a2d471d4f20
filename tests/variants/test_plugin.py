"""Third-party variants through the ``attnbench.variants`` entry-point group.

The demo package in ``tests/plugins/attnbench_demo_plugin`` is "installed" the way pip would
leave it for importlib.metadata: a ``*.dist-info`` directory with ``METADATA`` and an
``entry_points.txt`` generated from the package's own pyproject, placed on ``sys.path``
next to the package sources. Nothing is installed into the environment, and the registry is
restored after each test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import torch

from attnbench import Case, variants
from attnbench.variants import registry

tomllib = pytest.importorskip("tomllib")

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "plugins" / "attnbench_demo_plugin"


def write_dist_info(site: Path, name: str, version: str, entries: dict[str, str]) -> None:
    """A minimal installed-distribution record with entry points in the attnbench group."""
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = [f"[{registry.ENTRY_POINT_GROUP}]"] + [f"{k} = {v}" for k, v in entries.items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def forget_plugin_modules() -> None:
    for module in [m for m in sys.modules if m.startswith("attnbench_demo_plugin")]:
        del sys.modules[module]


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    variants.names()  # built-ins and already-installed plugins load before we snapshot
    monkeypatch.setattr(registry, "_classes", dict(registry._classes))
    monkeypatch.setattr(registry, "_defaults", dict(registry._defaults))
    monkeypatch.setattr(registry, "_plugin_errors", list(registry._plugin_errors))
    forget_plugin_modules()
    yield
    forget_plugin_modules()


@pytest.fixture
def installed_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_registry: None
) -> dict[str, str]:
    project = tomllib.loads((PLUGIN_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    entries: dict[str, str] = project["project"]["entry-points"][registry.ENTRY_POINT_GROUP]
    write_dist_info(tmp_path, project["project"]["name"], project["project"]["version"], entries)
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    monkeypatch.syspath_prepend(str(tmp_path))
    return entries


def test_entry_points_are_discovered(installed_demo: dict[str, str]) -> None:
    found = {ep.name: ep.value for ep in entry_points(group=registry.ENTRY_POINT_GROUP)}
    assert found.items() >= installed_demo.items()


def test_load_plugins_registers_module_and_class_entry_points(
    installed_demo: dict[str, str],
) -> None:
    assert "demo.scaled" not in registry._classes
    loaded = variants.load_plugins()
    assert set(installed_demo) <= set(loaded)
    assert {"demo.scaled", "demo.plain"} <= set(variants.names())
    assert variants.resolve("demo") == "demo.scaled"
    assert variants.families()["demo"] == "demo.scaled"
    assert not [e for e in variants.plugin_errors() if "demo" in e]


def test_plugin_variant_runs_by_name_with_a_case(installed_demo: dict[str, str]) -> None:
    variants.load_plugins()
    v = variants.get("demo")
    case = Case(batch=1, heads=2, seq_len=37, head_dim=16, causal=True, params={"scale": 0.5})
    assert v.unsupported(case) is None
    inputs = v.make_inputs(case, device="cpu", seed=0)
    out = v(inputs, case)
    assert out.shape == (1, 2, 37, 16)
    ref = v.reference({k: t.double() for k, t in inputs.items()}, case)
    torch.testing.assert_close(out.double(), ref, atol=1e-5, rtol=1e-5)
    plain = variants.get("demo.plain")
    unscaled = case.replace(params={})
    assert not torch.allclose(plain(inputs, unscaled), out)
    assert v.flops(case) == plain.flops(unscaled) > 0
    bad = v.unsupported(case.replace(params={"scale": -1.0}))
    assert bad is not None and "scale" in bad
    assert "no parameter" in (v.unsupported(case.replace(params={"iters": 3})) or "")


def test_broken_plugin_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_registry: None
) -> None:
    write_dist_info(tmp_path, "attnbench-broken", "0.0.1", {"broken": "attnbench_no_such_mod"})
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = variants.load_plugins()
    assert "broken" not in loaded
    errors = variants.plugin_errors()
    assert any("broken" in e and "attnbench_no_such_mod" in e for e in errors)
