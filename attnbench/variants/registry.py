"""Name → variant class registry, built-in family modules and third-party plugins.

Names are ``family.impl``; a bare family name means the family's default implementation.
Built-in families are the modules of this package (one module per family), imported on first
use. Third-party packages register through the entry-point group ``attnbench.variants``: the
entry point may name a module (importing it registers its classes with :func:`register`) or a
:class:`~attnbench.variants.base.Variant` subclass.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TypeVar, overload

from attnbench.errors import InputError, UnknownVariantError, did_you_mean
from attnbench.variants.base import Variant

ENTRY_POINT_GROUP = "attnbench.variants"
_INTERNAL = {"base", "registry"}

_classes: dict[str, type[Variant]] = {}
_defaults: dict[str, str] = {}
_loaded = False
_plugin_errors: list[str] = []

V = TypeVar("V", bound=type[Variant])


@overload
def register(cls: V, *, default: bool = False) -> V: ...


@overload
def register(cls: None = None, *, default: bool = False) -> Callable[[V], V]: ...


def register(cls: V | None = None, *, default: bool = False) -> V | Callable[[V], V]:
    """Class decorator: add a variant under ``cls.info.name``.

    ``default=True`` makes it what the bare family name resolves to (the first registered
    implementation of a family is the default otherwise).
    """

    def wrap(klass: V) -> V:
        name = klass.info.name
        if "." not in name:
            raise ValueError(f"variant name {name!r} must be 'family.impl'")
        existing = _classes.get(name)
        if existing is not None and existing is not klass:
            raise ValueError(f"variant {name!r} is registered twice ({existing} and {klass})")
        _classes[name] = klass
        family = klass.info.family
        if default or family not in _defaults:
            _defaults[family] = name
        return klass

    return wrap(cls) if cls is not None else wrap


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import attnbench.variants as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in _INTERNAL and not module.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{module.name}")
    load_plugins()


def load_plugins() -> list[str]:
    """Load every ``attnbench.variants`` entry point; return the names of those loaded.

    A broken plugin does not break attnbench: its error is kept in :func:`plugin_errors`.
    """
    loaded = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # a third-party import can fail any way it likes
            _plugin_errors.append(f"plugin {ep.name!r} ({ep.value}) failed to load: {exc}")
            continue
        if isinstance(obj, type) and issubclass(obj, Variant):
            register(obj)
        loaded.append(ep.name)
    return loaded


def load_module(module: str) -> None:
    """Import a module that registers variants (``run --plugin MODULE``)."""
    _ensure_loaded()
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"cannot import plugin module {module!r}: {exc}") from exc


def plugin_errors() -> list[str]:
    _ensure_loaded()
    return list(_plugin_errors)


def names() -> list[str]:
    """Every registered full name, sorted."""
    _ensure_loaded()
    return sorted(_classes)


def families() -> dict[str, str]:
    """Family name → the full name of its default implementation."""
    _ensure_loaded()
    return dict(sorted(_defaults.items()))


def resolve(name: str, impl: str | None = None) -> str:
    """Full ``family.impl`` name for ``name`` (bare family → default impl).

    Raises:
        UnknownVariantError: with the known names and a did-you-mean.
    """
    _ensure_loaded()
    full = f"{name}.{impl}" if impl else name
    if full in _classes:
        return full
    if impl is None and full in _defaults:
        return _defaults[full]
    choices = sorted(set(_classes) | set(_defaults))
    guess = did_you_mean(full, choices)
    hint = f" Did you mean {guess!r}?" if guess else ""
    family = full.split(".", 1)[0]
    if family in _defaults:
        impls = sorted(n for n in _classes if n.startswith(family + "."))
        known = f"{family} implementations: {', '.join(impls)}"
    else:
        known = f"families: {', '.join(sorted(_defaults))}"
    raise UnknownVariantError(
        f"unknown variant {full!r}.{hint} Known {known} (`attnbench list` shows them all)"
    )


def get_class(name: str, impl: str | None = None) -> type[Variant]:
    return _classes[resolve(name, impl)]


def get(name: str, impl: str | None = None) -> Variant:
    """A fresh instance of the variant called ``name`` (``family`` or ``family.impl``)."""
    return get_class(name, impl)()
