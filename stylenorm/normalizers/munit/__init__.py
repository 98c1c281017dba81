"""``munit``: MUNIT (Huang, Liu, Belongie & Kautz, ECCV 2018), a multimodal translator: an image is a
content code (domain-invariant) and a style code (domain-specific, 8 numbers by default).

One package: ``networks.py`` (content and style encoders, AdaIN decoders, discriminators), ``model.py``
(losses and optimisers on the translator contract of ``stylenorm/translators/base.py``), ``config.py``
(the ``munit.fit`` and ``munit.apply`` dataclasses), ``styles.py`` (the apply step's style codes).
Fit trains MUNIT on the training splits of both domains (A = the pair's source, B = its target: GTA5 and Cityscapes by default) with the shared loop
(``stylenorm/translators/train.py``); apply keeps each image's content and decodes it with a target-domain
style code chosen by ``munit.apply.mode``:

    random     a code drawn from N(0, I) (the training prior), from (fit seed, image id)
    reference  the code of a target-domain training image, paired as the training-free normalizers pair
               their references (``stylenorm/normalizers/_references.py``: (fit seed, image id))
    mean       the mean code of every target-domain training image: one style for all
"""
from __future__ import annotations

from pathlib import Path

from stylenorm.normalizers._translator import LearnedTranslator
from stylenorm.normalizers.base import Context, register
from stylenorm.normalizers.munit.config import MUNITApply, MUNITFit


@register
class MUNIT(LearnedTranslator):
    name = "munit"
    display_name = "MUNIT"
    Fit = MUNITFit
    Apply = MUNITApply

    @staticmethod
    def model_cls():
        from stylenorm.normalizers.munit.model import MUNITModel
        return MUNITModel

    def style_codes(self, netG, ctx: Context, sources: list[Path], device) -> list:
        from stylenorm.normalizers.munit.styles import style_codes
        return style_codes(netG, ctx, sources, mode=self.apply_cfg.mode, new_size=self.apply_cfg.new_size,
                           batch_size=self.apply_cfg.batch_size, device=device)
