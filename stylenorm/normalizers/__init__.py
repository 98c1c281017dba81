"""Style normalizers, one module each, found by name (see ``base.py`` for the contract).

A normalizer named ``x`` lives in ``stylenorm/normalizers/x.py`` and registers its class with
``@register``; ``get("x")`` imports that module alone (so a stage that uses one normalizer
depends on that module, not on every other), ``registry()`` imports them all. A new normalizer
is one new module, one params.yaml section and one entry in ``study.normalizers``.
"""
from __future__ import annotations

from stylenorm.normalizers.base import REGISTRY, Context, Normalizer, NoParams, register

available = REGISTRY.available
get = REGISTRY.get
registry = REGISTRY.all

__all__ = ["Context", "Normalizer", "NoParams", "register", "get", "registry", "available"]
