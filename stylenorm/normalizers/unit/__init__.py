"""``unit``: UNIT (Liu, Breuel & Kautz, NeurIPS 2017), a learned translator with a shared latent space.

One package: ``networks.py`` (E1, E2, G1, G2, D1, D2), ``model.py`` (losses and optimisers on the
translator contract of ``stylenorm/translators/base.py``), ``config.py`` (the ``unit.fit`` dataclasses).
Fit trains UNIT on the training splits of both domains (A = the pair's source, B = its target: GTA5 and Cityscapes by default) with the shared loop
(``stylenorm/translators/train.py``); apply translates with the trained generator, in either direction.
params.yaml section ``unit``: ``fit`` (networks, losses, schedule) and ``apply`` (working size,
alignment, resampling).
"""
from __future__ import annotations

from stylenorm.normalizers._translator import LearnedTranslator
from stylenorm.normalizers.base import register
from stylenorm.normalizers.unit.config import UNITFit


@register
class UNIT(LearnedTranslator):
    name = "unit"
    display_name = "UNIT"
    Fit = UNITFit

    @staticmethod
    def model_cls():
        from stylenorm.normalizers.unit.model import UNITModel
        return UNITModel
