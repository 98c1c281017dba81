"""Growth by registration: a kind of component (normalizers, protocols) is a package whose
modules each register one class under the module's name, the way MMSeg builds a dataset from its
registered name and CycleGAN's repository finds a model by file name.

``get("x")`` imports ``<package>.x`` alone, so a stage that uses one component depends on that
module, not on every other; ``available()`` lists the modules without importing them (nor the
package's ``__init__``: the registries are declared in ``stylenorm.components``); modules
whose names start with ``_`` (shared helpers) and those in ``not_modules`` are not components.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str, not_modules: tuple[str, ...] = ("base",)):
        self.kind, self.package, self.not_modules = kind, package, set(not_modules)
        self._classes: dict[str, type[T]] = {}

    def register(self, cls: type[T]) -> type[T]:
        """Class decorator: make ``cls`` buildable by its ``name``."""
        if cls.name in self._classes and self._classes[cls.name] is not cls:
            raise ValueError(f"{self.kind} {cls.name!r} is registered twice")
        self._classes[cls.name] = cls
        return cls

    def available(self) -> list[str]:
        """Names of the component modules (or packages) in the package (without importing them)."""
        path = importlib.util.find_spec(self.package).submodule_search_locations  # imports the parent package only
        return sorted(m.name for m in pkgutil.iter_modules(path)
                      if m.name not in self.not_modules and not m.name.startswith("_"))

    def get(self, name: str) -> type[T]:
        """The class registered as ``name``, importing ``<package>.<name>``."""
        folder = self.package.replace(".", "/")
        if name not in self.available():
            raise KeyError(f"no {self.kind} {name!r} (modules in {folder}/: {', '.join(self.available())})")
        importlib.import_module(f"{self.package}.{name}")
        if name not in self._classes:
            raise KeyError(f"{self.package}.{name} registers no {self.kind} named {name!r}")
        return self._classes[name]

    def all(self) -> dict[str, type[T]]:
        """Every component, by name (imports every module)."""
        return {name: self.get(name) for name in self.available()}
