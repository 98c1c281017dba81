"""Style normalizers, one module each, found by name (see ``base.py`` for the contract).

A normalizer named ``x`` lives in ``stylenorm/normalizers/x.py`` and registers its class with
``@register``; ``get("x")`` imports that module alone (so a stage that uses one normalizer
depends on that module, not on every other), ``registry()`` imports them all. A new normalizer
is one new module, one params.yaml section and one entry in ``study.normalizers``.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil

from stylenorm.normalizers.base import _REGISTRY, Context, Normalizer, NoParams, register

_NOT_MODULES = {"base"}


def available() -> list[str]:
    """Names of the normalizer modules in this package (without importing them)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_MODULES and not m.name.startswith("_"))


def get(name: str) -> type[Normalizer]:
    """The class registered as ``name``, importing ``stylenorm.normalizers.<name>``."""
    if name not in available():
        raise KeyError(f"no normalizer {name!r} (modules in stylenorm/normalizers/: {', '.join(available())})")
    importlib.import_module(f"{__name__}.{name}")
    if name not in _REGISTRY:
        raise KeyError(f"stylenorm/normalizers/{name}.py registers no normalizer named {name!r}")
    return _REGISTRY[name]


def registry() -> dict[str, type[Normalizer]]:
    """Every normalizer, by name (imports every module)."""
    return {name: get(name) for name in available()}


__all__ = ["Context", "Normalizer", "NoParams", "register", "get", "registry", "available"]
