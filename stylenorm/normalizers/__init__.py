"""Style normalizers, one module each, found by name (see ``base.py`` for the contract).

A normalizer named ``x`` is the package ``stylenorm/normalizers/x/`` and registers its class with
``@register``; ``get("x")`` imports that package alone (so a stage that uses one normalizer
depends on that folder, not on every other: dvc.yaml names it per matrix item), ``registry()``
imports them all. A learned translator's package also holds its networks, model and config. A new
normalizer is one new package, one params.yaml section and one entry in ``study.normalizers``.
"""
from __future__ import annotations

from stylenorm.normalizers.base import REGISTRY, Context, Normalizer, NoParams, register

available = REGISTRY.available
get = REGISTRY.get
registry = REGISTRY.all

__all__ = ["Context", "Normalizer", "NoParams", "register", "get", "registry", "available"]
