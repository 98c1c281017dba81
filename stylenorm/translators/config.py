"""The training settings UNIT and MUNIT share, as their authors' trainers do (NVlabs/UNIT and NVlabs/MUNIT
read the same keys): Adam with a step schedule, resized and square-cropped training images, the loop's
intervals and numerics. A translator's ``<name>.fit`` dataclass subclasses ``StepScheduleFit``, adds its
``gen`` (with ``n_downsample``), ``dis`` and ``loss`` sections, names its params ``section`` and extends
``__post_init__`` with its own range checks (``self.need``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from stylenorm.config import ConfigError


@dataclass(frozen=True)
class StepScheduleFit:
    lr: float                # Adam learning rate, G and D
    beta1: float             # Adam beta1
    beta2: float             # Adam beta2
    weight_decay: float      # Adam weight decay
    lr_step_size: int        # iterations between learning-rate decays
    lr_gamma: float          # learning-rate factor at each decay
    new_size: int            # training images: shorter side resized to this, pixels
    crop_size: int           # then a random square crop of this side, pixels
    batch_size: int          # image pairs per iteration
    iterations: int          # training iterations
    log_every: int           # iterations between DVCLive loss logs
    image_every: int         # iterations between image grids
    checkpoint_every: int    # iterations between checkpoints (resume points)
    precision: Literal["fp32", "bf16"]
    channels_last: bool

    section: ClassVar[str] = ""  # the params key a range error names, e.g. "unit.fit"

    def need(self, ok: bool, key: str, msg: str) -> None:
        """Stop with ``<section>.<key>: <msg>`` unless ``ok``."""
        if not ok:
            raise ConfigError(f"{self.section}.{key}: {msg}")

    def __post_init__(self):
        for key in ("new_size", "crop_size", "batch_size", "iterations", "log_every", "image_every", "checkpoint_every",
                    "lr_step_size"):
            self.need(getattr(self, key) >= 1, key, "must be >= 1")
        self.need(self.crop_size <= self.new_size, "crop_size", f"must be <= {self.section}.new_size ({self.new_size})")
        factor = 2 ** self.gen.n_downsample  # every subclass's generator downsamples: crops must survive it whole
        self.need(self.crop_size % factor == 0, "crop_size", f"must be a multiple of 2**n_downsample = {factor}")
