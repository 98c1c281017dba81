"""UNIT's training settings: the ``unit.fit`` section of params.yaml, loaded strictly
(``stylenorm.config.from_dict``); range checks that types cannot express fail by dotted key."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stylenorm.config import ConfigError


@dataclass(frozen=True)
class UNITGen:
    """E1, E2, G1, G2: ``unit.fit.gen``."""
    dim: int
    n_downsample: int
    n_res: int
    n_shared: int
    pad_type: Literal["reflect", "zero"]


@dataclass(frozen=True)
class UNITDis:
    """D1, D2: ``unit.fit.dis``."""
    dim: int
    n_layer: int
    num_scales: int


@dataclass(frozen=True)
class UNITLoss:
    """Loss weights: ``unit.fit.loss``."""
    gan_w: float
    recon_x_w: float
    recon_kl_w: float
    recon_x_cyc_w: float
    recon_kl_cyc_w: float


@dataclass(frozen=True)
class UNITFit:
    """UNIT's training settings: the ``unit.fit`` section."""
    gen: UNITGen
    dis: UNITDis
    loss: UNITLoss
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

    def __post_init__(self):
        def need(ok: bool, key: str, msg: str) -> None:
            if not ok:
                raise ConfigError(f"unit.fit.{key}: {msg}")

        for key in ("new_size", "crop_size", "batch_size", "iterations", "log_every", "image_every", "checkpoint_every",
                    "lr_step_size"):
            need(getattr(self, key) >= 1, key, "must be >= 1")
        need(self.crop_size <= self.new_size, "crop_size", f"must be <= unit.fit.new_size ({self.new_size})")
        need(1 <= self.gen.n_shared <= self.gen.n_res, "gen.n_shared", "must be in [1, unit.fit.gen.n_res]")
        need(self.crop_size % (2 ** self.gen.n_downsample) == 0, "crop_size",
             f"must be a multiple of 2**n_downsample = {2 ** self.gen.n_downsample}")
