"""CycleGAN's training settings: the ``cyclegan.fit`` section of params.yaml, loaded strictly
(``stylenorm.config.from_dict``); range checks that types cannot express fail by dotted key."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stylenorm.config import ConfigError


@dataclass(frozen=True)
class CycleGANFit:
    """Everything that determines a CycleGAN training run (reference defaults unless noted)."""

    ngf: int = 64                    # generator channels after the first conv; x2 per downsampling
    n_blocks: int = 9                # residual blocks in each generator (resnet_9blocks; resnet_6blocks = 6)
    norm_G: Literal["instance", "batch"] = "instance"  # generators' normalisation
    ndf: int = 64                    # discriminator channels after the first conv; x2 per layer, capped at 8 ndf
    n_layers_D: int = 3              # stride-2 conv layers of the PatchGAN (3 = 70x70 patches)
    dropout_D: float = 0.0           # dropout rate after D's inner LeakyReLUs (the second study; reference: none)
    gan_mode: Literal["lsgan", "vanilla", "wgangp"] = "lsgan"  # adversarial objective (see GANLoss)
    gp_weight: float = 0.0           # gradient-penalty weight on D, any gan_mode; wgangp needs > 0 (WGAN-GP: 10)
    lambda_A: float = 10.0           # cycle weight A -> B -> A
    lambda_B: float = 10.0           # cycle weight B -> A -> B
    lambda_identity: float = 0.5     # identity weight, times lambda_A / lambda_B; 0 skips the identity pass
    pool_size: int = 50              # fakes each D's history pool holds; 0 = judge the newest fakes only
    init_gain: float = 0.02          # std of the N(0, gain) weight init
    lr: float = 0.0002               # Adam learning rate, G and D
    beta1: float = 0.5               # Adam beta1
    beta2: float = 0.999             # Adam beta2
    new_size: int = 286              # training images: shorter side resized to this, pixels (reference load_size)
    crop_size: int = 256             # then a random square crop, pixels; multiple of 4
    batch_size: int = 1              # image pairs per iteration
    iterations: int = 158000         # total iterations (reference: 100 + 100 epochs of ~790 images at batch 1)
    decay_iterations: int = 79000    # the last this many iterations decay the lr linearly to 0
    log_every: int = 100             # iterations between DVCLive loss logs
    image_every: int = 400           # iterations between image grids
    checkpoint_every: int = 5000     # iterations between checkpoints
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16 = bfloat16 autocast
    channels_last: bool = False      # NHWC memory format

    def __post_init__(self):
        def need(ok: bool, key: str, msg: str) -> None:
            if not ok:
                raise ConfigError(f"cyclegan.fit.{key}: {msg}")

        for key in ("ngf", "ndf", "n_layers_D", "new_size", "crop_size", "batch_size", "iterations", "log_every",
                    "image_every", "checkpoint_every"):
            need(getattr(self, key) >= 1, key, "must be >= 1")
        for key in ("n_blocks", "pool_size"):
            need(getattr(self, key) >= 0, key, "must be >= 0")
        need(0 <= self.decay_iterations <= self.iterations, "decay_iterations", "must be in [0, iterations]")
        need(self.crop_size <= self.new_size, "crop_size", f"must be <= new_size ({self.new_size})")
        need(self.crop_size % 4 == 0, "crop_size", "must be a multiple of 4 (two stride-2 downsamplings)")
        need(0 <= self.dropout_D < 1, "dropout_D", "must be in [0, 1)")
        need(self.gp_weight >= 0, "gp_weight", "must be >= 0")
        need(self.gan_mode != "wgangp" or self.gp_weight > 0, "gp_weight",
             "gan_mode wgangp needs a gradient penalty: set gp_weight > 0 (Gulrajani et al.: 10)")
        for key in ("lambda_A", "lambda_B", "lambda_identity", "init_gain", "lr"):
            need(getattr(self, key) >= 0, key, "must be >= 0")
