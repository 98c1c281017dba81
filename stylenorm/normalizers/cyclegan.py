"""``cyclegan``: CycleGAN (Zhu, Park, Isola & Efros, ICCV 2017), the second study's translator.

Two generators (netG_A: GTA5 -> Cityscapes, netG_B: Cityscapes -> GTA5) trained with adversarial,
cycle-consistency and identity losses on the training splits of both domains
(``stylenorm/translators/cyclegan.py``); apply translates with the trained generators, in either
direction, with the same ``align`` choices as UNIT. params.yaml section ``cyclegan``.
"""
from __future__ import annotations

from stylenorm.normalizers._translator import LearnedTranslator
from stylenorm.normalizers.base import register
from stylenorm.translators.cyclegan import CycleGANFit


@register
class CycleGAN(LearnedTranslator):
    name = "cyclegan"
    display_name = "CycleGAN"
    Fit = CycleGANFit

    @staticmethod
    def model_cls():
        from stylenorm.translators.cyclegan import CycleGANModel
        return CycleGANModel

    @staticmethod
    def build_generator(cfg):
        from stylenorm.translators.cyclegan import build_generator
        return build_generator(cfg)
