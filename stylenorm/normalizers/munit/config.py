"""MUNIT's settings: the ``munit.fit`` and ``munit.apply`` sections of params.yaml, loaded strictly
(``stylenorm.config.from_dict``); range checks that types cannot express fail by dotted key."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from stylenorm.config import Translate
from stylenorm.translators.config import StepScheduleFit


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
class MUNITFit(StepScheduleFit):
    """MUNIT's training settings: the ``munit.fit`` section (the shared ones in ``StepScheduleFit``)."""
    gen: MUNITGen
    dis: MUNITDis
    loss: MUNITLoss

    section: ClassVar[str] = "munit.fit"

    def __post_init__(self):
        super().__post_init__()
        for key in ("dim", "style_dim", "mlp_dim", "n_res"):
            self.need(getattr(self.gen, key) >= 1, f"gen.{key}", "must be >= 1")
        for key in ("dim", "n_layer", "num_scales"):
            self.need(getattr(self.dis, key) >= 1, f"dis.{key}", "must be >= 1")
        for key in ("gan_w", "recon_x_w", "recon_s_w", "recon_c_w", "recon_x_cyc_w"):
            self.need(getattr(self.loss, key) >= 0, f"loss.{key}", "must be >= 0")


@dataclass(frozen=True)
class MUNITApply(Translate):
    """How MUNIT is applied: ``munit.apply``, the translators' ``Translate`` plus where each image's
    target-domain style code comes from."""
    mode: Literal["random", "reference", "mean"]
