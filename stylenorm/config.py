"""Typed, strict views of ``params.yaml``: the stage sections and the loader.

Each stage section of params.yaml loads into a frozen dataclass. Unknown keys, missing keys, wrong
types and values outside a ``Literal`` fail with the key's dotted name, the way nanoGPT's
configurator refuses unknown keys. Every other top-level key is a component's section (a
normalizer's or a protocol's), kept raw here: ``stylenorm.components`` knows the component kinds,
refuses a key that names none and loads a section into its class. This module imports nothing of
the project but the domain registry's name list (``stylenorm.domains``, which imports no domain), so a
stage that builds no component (fetch, unify_labels, split) loads its params without depending on any
component's code. A domain's ``data.<name>`` section is kept raw here and loaded by its module
(``Domain.from_params``). Stage modules call ``load_params()``
(or ``stylenorm.components.load_params()``) and read only their own sections.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from stylenorm import domains

PARAMS_PATH = Path("params.yaml")


class ConfigError(ValueError):
    """A params.yaml value is missing, unknown or of the wrong type."""


@dataclass(frozen=True)
class NoParams:
    """An empty section or subsection (``{}`` in params.yaml): a component that takes no values."""


# ----------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class Base:
    data_seed: int
    num_workers: int
    device: Literal["auto", "cpu", "cuda"]
    nproc: int  # processes per training stage (dvc.yaml runs them through stylenorm.launch)


@dataclass(frozen=True)
class Study:
    protocols: tuple[str, ...]
    normalizers: tuple[str, ...]
    seeds: tuple[int, ...]
    fit_seeds: tuple[int, ...]
    domains: tuple[str, ...]
    source: str
    target: str
    oracles: tuple[str, ...]

    @property
    def pair(self) -> tuple[str, str]:
        """(source, target): the domains the grid's fits, normalizations and cells use; a translator's A and B."""
        return self.source, self.target

    def in_pair(self, domain: str) -> str:
        """``domain``, if it is one of the pair (a stage's argument); else the error naming both keys."""
        if domain not in self.pair:
            raise ConfigError(f"domain {domain!r} is not in the study's pair (study.source {self.source!r}, "
                              f"study.target {self.target!r})")
        return domain

    def fit_seed(self, seed: int) -> int:
        """The normalizer seed a segmenter trained with ``seed`` uses: the one fit seed, or its own."""
        return self.fit_seeds[0] if len(self.fit_seeds) == 1 else seed


@dataclass(frozen=True)
class Synthetic:
    scale: float
    pool_size: int
    missing_id_rate: float
    label_size_mismatch_rate: float


@dataclass(frozen=True)
class Data:
    n_per_domain: int
    synthetic: Synthetic
    domains: dict = dataclasses.field(default_factory=dict)  # data.<domain> -> its raw section (Domain.from_params)

    def __post_init__(self):
        unknown = sorted(set(self.domains) - set(domains.available()))
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(f'data.{u}' for u in unknown)} (a data section names a "
                              f"domain: one of {', '.join(domains.available())} in stylenorm/domains/)")


@dataclass(frozen=True)
class UnifyLabels:
    size_mismatch: Literal["resize_label", "crop", "drop"]
    unknown_to_ignore: bool


@dataclass(frozen=True)
class Split:
    val_fraction: float
    test_fraction: float


@dataclass(frozen=True)
class Translate:
    """How a learned translator is applied: the ``<translator>.apply`` section."""
    new_size: int
    align: Literal["stretch", "pad"]
    upsample: Literal["bicubic", "bilinear", "none"]
    full_resolution: bool
    batch_size: int

    def __post_init__(self):
        if not (self.new_size >= 1 and self.batch_size >= 1):
            raise ValueError("new_size and batch_size must be >= 1")  # stylenorm.components names the section


@dataclass(frozen=True)
class Seg:
    config: str
    pretrained: str
    iterations: int
    batch_size: int
    crop_size: tuple[int, ...]
    img_scale: tuple[int, ...]
    lr: float
    precision: Literal["fp32", "bf16"]
    channels_last: bool
    cache_images: bool
    log_every: int
    val_loss_every: int
    val_loss_images: int
    checkpoint_every: int


@dataclass(frozen=True)
class Evaluate:
    source_raw: bool
    qualitative: int


@dataclass(frozen=True)
class Report:
    confidence: float
    bootstrap_resamples: int
    bootstrap_seed: int


@dataclass(frozen=True)
class StageSections:
    base: Base
    study: Study
    data: Data
    unify_labels: UnifyLabels
    split: Split
    seg: Seg
    evaluate: Evaluate
    report: Report


@dataclass(frozen=True)
class Params(StageSections):
    components: dict = dataclasses.field(default_factory=dict)  # every other top-level key -> its raw section


# ----------------------------------------------------------------------------- loading
def _check(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key)
    if origin is Literal:
        if value not in typing.get_args(tp):
            choices = " | ".join(map(str, typing.get_args(tp)))
            raise ConfigError(f"{key}: {value!r} is not one of [{choices}]")
        return value
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            try:
                return _check(value, option, key)
            except ConfigError:
                pass
        raise ConfigError(f"{key}: {value!r} does not match {tp}")
    if tp is type(None):
        if value is not None:
            raise ConfigError(f"{key}: expected null, got {value!r}")
        return None
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {type(value).__name__} {value!r}")
        (item_tp, *_) = typing.get_args(tp)
        return tuple(_check(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value))
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {type(value).__name__} {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {type(value).__name__} {value!r}")
        return value
    if tp is dict:  # kept raw: its owner loads it (a domain's data section)
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__} {value!r}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise ConfigError(f"{key}: expected {tp.__name__}, got {type(value).__name__} {value!r}")
        return value
    raise TypeError(f"unsupported config type {tp} at {key}")


def from_dict(cls: type, raw: Any, key: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping, strictly."""
    where = key or "params"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(f'{key}.{u}' if key else u for u in unknown)}")
    values = {}
    for name in names:
        dotted = f"{key}.{name}" if key else name
        if name not in raw:
            raise ConfigError(f"missing key {dotted}")
        values[name] = _check(raw[name], hints[name], dotted)
    return cls(**values)


def _load_sections(raw: Any) -> Params:
    """Stage sections as typed above, strictly; every other top-level key is kept raw, as a component's
    section (``stylenorm.components`` checks that it names one)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"params: expected a mapping, got {type(raw).__name__}")
    stage_keys = [f.name for f in dataclasses.fields(StageSections)]
    raw = dict(raw)
    if isinstance(raw.get("data"), dict):  # a domain's section is its module's to load
        data = dict(raw["data"])
        shared = {f.name for f in dataclasses.fields(Data)} - {"domains"}  # n_per_domain, synthetic, ...
        sections = {k: data.pop(k) for k in list(data) if k not in shared}
        raw["data"] = {**data, "domains": sections}
    stages = from_dict(StageSections, {k: v for k, v in raw.items() if k in stage_keys})
    return Params(**{k: getattr(stages, k) for k in stage_keys},
                  components={k: v for k, v in raw.items() if k not in stage_keys})


def load_params(path: str | Path = PARAMS_PATH) -> Params:
    """Read and validate the whole params file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no params file (run from the repository root)") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    try:
        params = _load_sections(raw)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    validate(params, path)
    return params


def _need(path: Path):
    def need(ok: bool, key: str, msg: str) -> None:
        if not ok:
            raise ConfigError(f"{path}: {key}: {msg}")
    return need


def validate(params: Params, path: Path) -> None:
    """Range checks that types alone cannot express."""
    need = _need(path)

    st = params.study  # that each name has a section of its kind: stylenorm.components.validate
    need(len(st.normalizers) >= 1, "study.normalizers", "must name at least one normalizer")
    need(len(set(st.normalizers)) == len(st.normalizers), "study.normalizers", "has duplicates")
    need(len(st.protocols) >= 1 and len(set(st.protocols)) == len(st.protocols), "study.protocols",
         "must name at least one protocol, without duplicates")
    need(len(set(st.oracles)) == len(st.oracles), "study.oracles", "has duplicates")
    need(len(st.domains) >= 1 and len(set(st.domains)) == len(st.domains), "study.domains",
         "must name at least one domain, without duplicates")
    for name in st.domains:
        need(name in domains.available(), "study.domains", f"{name!r} is no domain (one of {', '.join(domains.available())})")
        need(name in params.data.domains, f"data.{name}", "missing (every domain in study.domains needs its data section)")
    need(st.source != st.target, "study.target", f"must differ from study.source (both {st.source!r})")
    for key, name in (("study.source", st.source), ("study.target", st.target)):  # the pair the grid's cells use
        need(name in st.domains, key, f"{name!r} is not in study.domains [{' | '.join(st.domains)}]")
    for name in st.oracles:
        need(name in st.pair, "study.oracles", f"{name!r} is not one of the grid's domains [{' | '.join(st.pair)}]")
    need(len(st.seeds) >= 1 and len(set(st.seeds)) == len(st.seeds), "study.seeds", "must be distinct seeds, at least one")
    need(len(st.fit_seeds) == 1 or list(st.fit_seeds) == list(st.seeds), "study.fit_seeds",
         "must be one seed (every segmenter shares the fitted normalizer) or the same list as study.seeds (re-fit per seed)")
    need(params.base.num_workers >= 1, "base.num_workers", "must be >= 1")
    need(params.base.nproc >= 1, "base.nproc", "must be >= 1")
    need(params.data.n_per_domain >= 2, "data.n_per_domain", "must be >= 2")
    syn = params.data.synthetic
    need(syn.scale > 0, "data.synthetic.scale", "must be > 0")
    need(0 <= syn.missing_id_rate < 1, "data.synthetic.missing_id_rate", "must be in [0, 1)")
    need(0 <= syn.label_size_mismatch_rate < 1, "data.synthetic.label_size_mismatch_rate", "must be in [0, 1)")
    need(0 < params.split.test_fraction < 1, "split.test_fraction", "must be in (0, 1)")
    need(0 < params.split.val_fraction < 1 and params.split.val_fraction + params.split.test_fraction < 1,
         "split.val_fraction", "must be in (0, 1) and leave training pairs beside split.test_fraction")
    rep = params.report
    need(0 < rep.confidence < 1, "report.confidence", "must be in (0, 1)")
    need(rep.bootstrap_resamples >= 100, "report.bootstrap_resamples", "must be >= 100")
    seg = params.seg
    need(Path(seg.config).suffix == ".py", "seg.config", "must be an MMSeg config file (.py) under configs/")
    need(len(seg.crop_size) == 2 and min(seg.crop_size) > 0, "seg.crop_size", "must be [height, width]")
    need(len(seg.img_scale) == 2 and min(seg.img_scale) > 0, "seg.img_scale", "must be [width, height]")
    need(seg.val_loss_images >= 0, "seg.val_loss_images", "must be >= 0 (0 = all)")
    for key in ("iterations", "batch_size", "log_every", "val_loss_every", "checkpoint_every"):
        need(getattr(seg, key) >= 1, f"seg.{key}", "must be >= 1")
    need(params.evaluate.qualitative >= 0, "evaluate.qualitative", "must be >= 0")


__all__ = ["ConfigError", "NoParams", "Params", "load_params", "from_dict"]
