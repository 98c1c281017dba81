"""``unit``: UNIT (Liu, Breuel & Kautz, NeurIPS 2017), a learned translator with a shared latent space.

Fit trains UNIT on the training splits of both domains (A = GTA5, B = Cityscapes;
``stylenorm/translators/``); apply translates with the trained generator, in either direction.
params.yaml section ``unit``: ``fit`` (networks, losses, schedule) and ``apply`` (working size,
alignment, resampling).
"""
from __future__ import annotations

from stylenorm.config import Translator
from stylenorm.normalizers._translator import LearnedTranslator
from stylenorm.normalizers.base import register


@register
class UNIT(LearnedTranslator):
    name = "unit"
    display_name = "UNIT"
    Fit = Translator

    @staticmethod
    def model_cls():
        from stylenorm.translators.unit import UNITModel
        return UNITModel

    @staticmethod
    def build_generator(cfg):
        from stylenorm.translators.unit import build_generator
        return build_generator(cfg)
