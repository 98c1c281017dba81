"""The builder layer: params.yaml's component sections, loaded into their registered classes.

A component kind is a package whose modules each register one class (``stylenorm.registry``):
normalizers (``stylenorm/normalizers/<name>/``) and protocols (``stylenorm/protocols/<name>.py``).
Their registries are declared here, so that this layer lists a kind's names without importing any of
its modules; ``Params.normalizer(name)`` and ``Params.protocol(name)`` import the one module they
build. ``stylenorm.config`` loads the stage sections and keeps every other top-level key raw; a stage
that builds a component loads params through ``load_params`` here (``run_stage(..., load=load_params)``),
which also refuses a top-level key that names no component and a study entry without its section.
The data stages use the plain loader, so no component's code is among their DVC dependencies.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stylenorm import config
from stylenorm.config import ConfigError, StageSections, from_dict
from stylenorm.registry import Registry

NORMALIZERS: Registry = Registry("normalizer", "stylenorm.normalizers")
PROTOCOLS: Registry = Registry("protocol", "stylenorm.protocols")


@dataclass(frozen=True)
class NormalizerSection:
    """One normalizer's params section: its name and the loaded ``fit`` / ``apply`` subsections."""
    name: str
    fit: Any
    apply: Any

    def build(self):
        return NORMALIZERS.get(self.name)(self.fit, self.apply)


def _named(key: str, build, *args) -> Any:
    """``build(*args)``, with a ``ValueError`` of the class's own checks (``__post_init__``, a protocol's
    ``__init__``) named by ``key``."""
    try:
        return build(*args)
    except ValueError as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"{key}: {err}") from None


def _load(cls: type, raw: Any, key: str) -> Any:
    return _named(key, from_dict, cls, raw or {}, key)


def _get(registry: Registry, name: str) -> type:
    try:
        return registry.get(name)
    except KeyError as err:
        raise ConfigError(f"{name}: {err.args[0]}") from None


def load_normalizer_section(name: str, sec: Any) -> NormalizerSection:
    """Import ``stylenorm/normalizers/<name>/`` and load its section strictly (unknown keys, wrong
    types and bad choices fail with the dotted key, as every other section)."""
    cls = _get(NORMALIZERS, name)
    if not isinstance(sec, dict) or set(sec) != {"fit", "apply"}:
        raise ConfigError(f"{name}: a normalizer section has exactly two subsections, fit and apply "
                          f"(got {sorted(sec) if isinstance(sec, dict) else type(sec).__name__})")
    return NormalizerSection(name, _load(cls.Fit, sec["fit"], f"{name}.fit"), _load(cls.Apply, sec["apply"], f"{name}.apply"))


@dataclass(frozen=True)
class Params(StageSections):
    """The stage sections, and the component sections sorted by kind (raw until used)."""
    normalizers: dict = dataclasses.field(default_factory=dict)  # name -> its raw params section
    protocols: dict = dataclasses.field(default_factory=dict)  # name -> its raw params section

    def normalizer(self, name: str) -> NormalizerSection:
        """Normalizer ``name``'s section, loaded strictly into its class's Fit / Apply dataclasses."""
        if name not in self.normalizers:
            raise ConfigError(f"no params section for normalizer {name!r} (sections: {', '.join(sorted(self.normalizers))})")
        return load_normalizer_section(name, self.normalizers[name])

    def protocol(self, name: str, labels=None):
        """Protocol ``name``, built from its section (loaded strictly into the class's Params) and told the
        study's pair; ``labels``: domain -> display name for its titles and columns."""
        if name not in self.protocols:
            raise ConfigError(f"no params section for protocol {name!r} (sections: {', '.join(sorted(self.protocols))})")
        cls = _get(PROTOCOLS, name)
        build = lambda cfg: cls(cfg, labels, pair=self.study.pair)  # noqa: E731
        return _named(name, build, _load(cls.Params, self.protocols[name], name))


def with_components(params: config.Params) -> Params:
    """Sort ``params``' raw component sections by kind; a key that names no component module fails."""
    normalizers, protocols = NORMALIZERS.available(), PROTOCOLS.available()
    unknown = sorted(set(params.components) - set(normalizers) - set(protocols))
    if unknown:
        stage_keys = [f.name for f in dataclasses.fields(StageSections)]
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} (sections: {', '.join(stage_keys)}; "
                          f"normalizers: {', '.join(normalizers)}; protocols: {', '.join(protocols)})")
    stages = {f.name: getattr(params, f.name) for f in dataclasses.fields(StageSections)}
    return Params(**stages, normalizers={k: v for k, v in params.components.items() if k in normalizers},
                  protocols={k: v for k, v in params.components.items() if k in protocols})


def validate(params: Params) -> None:
    """Every normalizer and protocol the study names has a section of its kind."""
    st = params.study
    for kind, names, sections in (("normalizers", st.normalizers, params.normalizers), ("protocols", st.protocols, params.protocols)):
        for i, name in enumerate(names):
            if name not in sections:
                raise ConfigError(f"study.{kind}[{i}]: {name!r} has no params section "
                                  f"({kind} with one: {', '.join(sorted(sections))})")


def load_params(path: str | Path = config.PARAMS_PATH) -> Params:
    """Read and validate the whole params file: the stage sections (``stylenorm.config.load_params``)
    and which component each other top-level key is."""
    raw = config.load_params(path)
    try:
        params = with_components(raw)
        validate(params)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    return params


__all__ = ["NORMALIZERS", "PROTOCOLS", "NormalizerSection", "Params", "load_params"]
