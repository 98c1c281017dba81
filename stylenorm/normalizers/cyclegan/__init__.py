"""``cyclegan``: CycleGAN (Zhu, Park, Isola & Efros, ICCV 2017), the second study's translator.

Two generators (netG_A: source -> target, netG_B: target -> source; GTA5 and Cityscapes by default) trained with adversarial,
cycle-consistency and identity losses on the training splits of both domains. One package:
``networks.py`` (generators, PatchGANs, GAN losses), ``model.py`` (losses, image pools and optimisers
on the translator contract of ``stylenorm/translators/base.py``), ``config.py`` (the ``cyclegan.fit``
dataclass). Apply translates with the trained generators, in either direction, with the same
``align`` choices as UNIT. params.yaml section ``cyclegan``.
"""
from __future__ import annotations

from stylenorm.normalizers._translator import LearnedTranslator
from stylenorm.normalizers.base import register
from stylenorm.normalizers.cyclegan.config import CycleGANFit


@register
class CycleGAN(LearnedTranslator):
    name = "cyclegan"
    display_name = "CycleGAN"
    Fit = CycleGANFit

    @staticmethod
    def model_cls():
        from stylenorm.normalizers.cyclegan.model import CycleGANModel
        return CycleGANModel
