"""Domains, one module each, found by name (see ``base.py`` for the contract).

A domain named ``x`` is ``stylenorm/domains/x.py`` registering a ``Domain`` subclass with
``@register``: its native layout and pairing, its label encoding, native size, display name and the
class subsets it is scored on; one ``data.x`` section in params.yaml (where its data comes from) and
one entry in ``study.domains``. ``get("x")`` imports that module alone; ``available()`` lists the
modules without importing any; ``get("x").from_params(params)`` builds it with its section. This
package's ``__init__`` imports only the registry, so the params loader can check a domain's name
without depending on any domain's code.
"""
from __future__ import annotations

from stylenorm.registry import Registry

REGISTRY: Registry = Registry("domain", "stylenorm.domains")

available = REGISTRY.available
get = REGISTRY.get
registry = REGISTRY.all


def label(name: str) -> str:
    """A domain's display name (table titles, column names)."""
    return get(name).display_name


__all__ = ["REGISTRY", "available", "get", "registry", "label"]
