"""Attention variants: the registry and one module per family.

>>> from attnbench import variants
>>> v = variants.get("softmax")          # the family's default implementation
>>> sorted(variants.names())[:2]         # doctest: +SKIP
"""

from attnbench.variants.base import Inputs, ParamSpec, Variant, VariantInfo
from attnbench.variants.registry import (
    ENTRY_POINT_GROUP,
    families,
    get,
    get_class,
    load_module,
    load_plugins,
    names,
    plugin_errors,
    register,
    resolve,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Inputs",
    "ParamSpec",
    "Variant",
    "VariantInfo",
    "families",
    "get",
    "get_class",
    "load_module",
    "load_plugins",
    "names",
    "plugin_errors",
    "register",
    "resolve",
]
