"""UNIT's training settings: the ``unit.fit`` section of params.yaml, loaded strictly
(``stylenorm.config.from_dict``); range checks that types cannot express fail by dotted key."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from stylenorm.translators.config import StepScheduleFit


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
class UNITFit(StepScheduleFit):
    """UNIT's training settings: the ``unit.fit`` section (the shared ones in ``StepScheduleFit``)."""
    gen: UNITGen
    dis: UNITDis
    loss: UNITLoss

    section: ClassVar[str] = "unit.fit"

    def __post_init__(self):
        super().__post_init__()
        self.need(1 <= self.gen.n_shared <= self.gen.n_res, "gen.n_shared", "must be in [1, unit.fit.gen.n_res]")
