"""Protocols, one module each, found by name (see ``base.py`` for the contract): ``mixed`` (the
first study: Cityscapes + normalized GTA5, scored on both) and ``source_only`` (the second study:
one domain's labelled images, raw or normalized into the other's style, scored on the other)."""
from __future__ import annotations

from stylenorm.protocols.base import REGISTRY, Protocol, TestSet, register

available = REGISTRY.available
get = REGISTRY.get
registry = REGISTRY.all

__all__ = ["Protocol", "TestSet", "register", "get", "registry", "available"]
