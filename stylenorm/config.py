"""Typed, strict views of ``params.yaml``.

Each section of params.yaml loads into a frozen dataclass. Unknown keys, missing
keys, wrong types and values outside a ``Literal`` fail with the key's dotted
name, the way nanoGPT's configurator refuses unknown keys. Stage modules call
``load_params()`` and read only their own sections.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

PARAMS_PATH = Path("params.yaml")
DOMAINS = ("cityscapes", "gta5")
Domain = Literal["cityscapes", "gta5"]


class ConfigError(ValueError):
    """A params.yaml value is missing, unknown or of the wrong type."""


# ----------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class Base:
    seed: int
    num_workers: int
    device: Literal["auto", "cpu", "cuda"]


@dataclass(frozen=True)
class CityscapesSource:
    source: Literal["synthetic", "local", "download"]
    local_path: str
    base_url: str


@dataclass(frozen=True)
class Gta5Source:
    source: Literal["synthetic", "local", "download"]
    local_path: str
    base_url: str
    archives: int


@dataclass(frozen=True)
class Synthetic:
    scale: float
    pool_size: int
    missing_id_rate: float
    label_size_mismatch_rate: float


@dataclass(frozen=True)
class Data:
    n_per_domain: int
    cityscapes: CityscapesSource
    gta5: Gta5Source
    synthetic: Synthetic

    def domain(self, name: str) -> CityscapesSource | Gta5Source:
        if name not in DOMAINS:
            raise ConfigError(f"unknown domain {name!r}; expected one of {DOMAINS}")
        return getattr(self, name)


@dataclass(frozen=True)
class UnifyLabels:
    size_mismatch: Literal["resize_label", "crop", "drop"]
    unknown_to_ignore: bool


@dataclass(frozen=True)
class Split:
    test_fraction: float


@dataclass(frozen=True)
class TranslatorGen:
    dim: int
    n_downsample: int
    n_res: int
    n_shared: int
    pad_type: Literal["reflect", "zero"]


@dataclass(frozen=True)
class TranslatorDis:
    dim: int
    n_layer: int
    num_scales: int


@dataclass(frozen=True)
class TranslatorLoss:
    gan_w: float
    recon_x_w: float
    recon_kl_w: float
    recon_x_cyc_w: float
    recon_kl_cyc_w: float


@dataclass(frozen=True)
class Translator:
    gen: TranslatorGen
    dis: TranslatorDis
    loss: TranslatorLoss
    lr: float
    beta1: float
    beta2: float
    weight_decay: float
    lr_step_size: int
    lr_gamma: float
    new_size: int
    crop_size: int
    batch_size: int
    iterations: int
    log_every: int
    image_every: int
    checkpoint_every: int
    precision: Literal["fp32", "bf16"]
    channels_last: bool


@dataclass(frozen=True)
class Translate:
    new_size: int
    upsample: Literal["bicubic", "bilinear", "none"]
    full_resolution: bool
    batch_size: int


@dataclass(frozen=True)
class Seg:
    config: str
    depth: int
    pretrained: str
    iterations: int
    batch_size: int
    crop_size: tuple[int, ...]
    img_scale: tuple[int, ...]
    lr: float
    log_every: int
    test_loss_every: int
    test_loss_images: int


@dataclass(frozen=True)
class Evaluate:
    unit_mapped_gta5: Literal["translated", "raw", "both"]
    qualitative: int


@dataclass(frozen=True)
class Params:
    base: Base
    data: Data
    unify_labels: UnifyLabels
    split: Split
    translator: Translator
    translate: Translate
    seg: Seg
    evaluate: Evaluate


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
        params = from_dict(Params, raw)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    validate(params, path)
    return params


def validate(params: Params, path: Path) -> None:
    """Range checks that types alone cannot express."""
    def need(ok: bool, key: str, msg: str) -> None:
        if not ok:
            raise ConfigError(f"{path}: {key}: {msg}")

    need(params.base.num_workers >= 1, "base.num_workers", "must be >= 1")
    need(params.data.n_per_domain >= 2, "data.n_per_domain", "must be >= 2")
    need(1 <= params.data.gta5.archives <= 10, "data.gta5.archives", "must be in [1, 10] (01_*.zip .. 10_*.zip)")
    syn = params.data.synthetic
    need(syn.scale > 0, "data.synthetic.scale", "must be > 0")
    need(0 <= syn.missing_id_rate < 1, "data.synthetic.missing_id_rate", "must be in [0, 1)")
    need(0 <= syn.label_size_mismatch_rate < 1, "data.synthetic.label_size_mismatch_rate", "must be in [0, 1)")
    need(0 < params.split.test_fraction < 1, "split.test_fraction", "must be in (0, 1)")
    tr = params.translator
    for key in ("new_size", "crop_size", "batch_size", "iterations", "log_every", "image_every", "checkpoint_every",
                "lr_step_size"):
        need(getattr(tr, key) >= 1, f"translator.{key}", "must be >= 1")
    need(tr.crop_size <= tr.new_size, "translator.crop_size", f"must be <= translator.new_size ({tr.new_size})")
    need(1 <= tr.gen.n_shared <= tr.gen.n_res, "translator.gen.n_shared", "must be in [1, translator.gen.n_res]")
    need(tr.crop_size % (2 ** tr.gen.n_downsample) == 0, "translator.crop_size",
         f"must be a multiple of 2**n_downsample = {2 ** tr.gen.n_downsample}")
    need(params.translate.new_size >= 1 and params.translate.batch_size >= 1, "translate", "sizes must be >= 1")
    seg = params.seg
    need(Path(seg.config).suffix == ".py", "seg.config", "must be an MMSeg config file (.py) under configs/")
    need(seg.depth in (18, 34, 50, 101, 152), "seg.depth", "must be one of 18, 34, 50, 101, 152")
    need(len(seg.crop_size) == 2 and min(seg.crop_size) > 0, "seg.crop_size", "must be [height, width]")
    need(len(seg.img_scale) == 2 and min(seg.img_scale) > 0, "seg.img_scale", "must be [width, height]")
    for key in ("iterations", "batch_size", "log_every", "test_loss_every"):
        need(getattr(seg, key) >= 1, f"seg.{key}", "must be >= 1")
    need(params.evaluate.qualitative >= 0, "evaluate.qualitative", "must be >= 0")
    for name in DOMAINS:
        src = params.data.domain(name)
        need(src.source != "local" or bool(src.local_path), f"data.{name}.local_path", "required when source is local")


__all__ = ["ConfigError", "DOMAINS", "Params", "load_params", "from_dict"]
