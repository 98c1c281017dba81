"""MUNIT's settings: the ``munit.fit`` and ``munit.apply`` sections of params.yaml, loaded strictly
(``stylenorm.config.from_dict``); range checks that types cannot express fail by dotted key."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stylenorm.config import ConfigError, Translate


@dataclass(frozen=True)
class MUNITGen:
    """Content encoders, style encoders, decoders and their MLPs: ``munit.fit.gen``."""
    dim: int                            # channels of the first encoder layer; doubles at each downsampling
    style_dim: int                      # length of the style code
    n_downsample: int                   # stride-2 convs of the content encoder = 2x upsamplings of the decoder
    n_res: int                          # residual blocks of the content encoder and (AdaIN) of the decoder
    mlp_dim: int                        # hidden width of the MLP from the style code to the AdaIN parameters
    activ: Literal["relu", "lrelu"]     # the generators' activation
    pad_type: Literal["reflect", "zero"]


@dataclass(frozen=True)
class MUNITDis:
    """The multi-scale LSGAN discriminators: ``munit.fit.dis``."""
    dim: int
    n_layer: int
    num_scales: int


@dataclass(frozen=True)
class MUNITLoss:
    """Loss weights: ``munit.fit.loss``."""
    gan_w: float          # adversarial (LSGAN)
    recon_x_w: float      # within-domain image reconstruction (L1)
    recon_s_w: float      # style code reconstruction (L1)
    recon_c_w: float      # content code reconstruction (L1)
    recon_x_cyc_w: float  # style-augmented cycle reconstruction (L1); 0 skips the cycle decode


@dataclass(frozen=True)
class MUNITFit:
    """MUNIT's training settings: the ``munit.fit`` section."""
    gen: MUNITGen
    dis: MUNITDis
    loss: MUNITLoss
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
                raise ConfigError(f"munit.fit.{key}: {msg}")

        for key in ("new_size", "crop_size", "batch_size", "iterations", "log_every", "image_every", "checkpoint_every",
                    "lr_step_size"):
            need(getattr(self, key) >= 1, key, "must be >= 1")
        for key in ("dim", "style_dim", "mlp_dim", "n_res"):
            need(getattr(self.gen, key) >= 1, f"gen.{key}", "must be >= 1")
        for key in ("dim", "n_layer", "num_scales"):
            need(getattr(self.dis, key) >= 1, f"dis.{key}", "must be >= 1")
        for key in ("gan_w", "recon_x_w", "recon_s_w", "recon_c_w", "recon_x_cyc_w"):
            need(getattr(self.loss, key) >= 0, f"loss.{key}", "must be >= 0")
        need(self.crop_size <= self.new_size, "crop_size", f"must be <= munit.fit.new_size ({self.new_size})")
        need(self.crop_size % (2 ** self.gen.n_downsample) == 0, "crop_size",
             f"must be a multiple of 2**n_downsample = {2 ** self.gen.n_downsample}")


@dataclass(frozen=True)
class MUNITApply(Translate):
    """How MUNIT is applied: ``munit.apply``, the translators' ``Translate`` plus where each image's
    target-domain style code comes from."""
    mode: Literal["random", "reference", "mean"]
