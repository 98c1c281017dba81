"""What the translators of the UNIT family share as models (UNIT, MUNIT): a generator module whose
forward computes every image of a step, a pair of multi-scale LSGAN discriminators
(``blocks.MultiScaleDiscriminatorPair``: netD_A judges A images, netD_B B images), Adam with weight decay
and a step schedule each, as the authors' trainers use. A subclass of ``LSGANPairModel`` gives
``build_generator`` and ``build_discriminators`` (static), sets ``self.cycle``, ``loss_names`` and
``visual_names`` in ``__init__`` and implements ``backward_G`` with ``adversarial_losses`` for its
adversarial terms; the rest of the contract (``stylenorm/translators/base.py``) is here.
"""
from __future__ import annotations

import torch

from stylenorm.translators.base import TranslatorModel
from stylenorm.translators.blocks import lsgan_discriminator_losses, lsgan_loss


class LSGANPairModel(TranslatorModel):
    """netG (``forward(real_A, real_B, generator=, cycle=)`` -> dict with at least fake_A and fake_B; its
    random draws from ``self.noise``) and netD (a ``MultiScaleDiscriminatorPair``). The config gives lr, beta1,
    beta2, weight_decay, lr_step_size, lr_gamma and ``loss.gan_w``."""

    model_names = ("G", "D")
    cycle: bool = False  # whether forward also computes the cycle images (the subclass decides from its weights)

    @staticmethod
    def build_discriminators(cfg) -> torch.nn.Module:
        raise NotImplementedError

    def build_networks(self, cfg) -> dict[str, torch.nn.Module]:
        return {"G": self.build_generator(cfg), "D": self.build_discriminators(cfg)}

    def build_optimizer(self, name: str, net: torch.nn.Module):
        c = self.cfg
        optimizer = torch.optim.Adam(net.parameters(), lr=c.lr, betas=(c.beta1, c.beta2), weight_decay=c.weight_decay)
        return optimizer, torch.optim.lr_scheduler.StepLR(optimizer, c.lr_step_size, c.lr_gamma)

    def forward(self) -> None:
        with self._autocast():
            self.out = self.trainG(self.real_A, self.real_B, generator=self.noise, cycle=self.cycle)

    def adversarial_losses(self) -> tuple[torch.Tensor, torch.Tensor]:
        """G's LSGAN terms: fake_A through netD_A and fake_B through netD_B, toward 1 (D unwrapped: no DDP sync)."""
        with self._autocast():
            d_fake_A, d_fake_B = self.netD(self.out["fake_A"], self.out["fake_B"])
        return lsgan_loss(d_fake_A, 1.0), lsgan_loss(d_fake_B, 1.0)

    def backward_D(self) -> None:
        o = self.out
        loss_D_A, loss_D_B = lsgan_discriminator_losses(self.trainD, o["fake_A"], self.real_A, o["fake_B"], self.real_B,
                                                        self._autocast())
        loss_D = self.cfg.loss.gan_w * (loss_D_A + loss_D_B)
        loss_D.backward()
        self.losses.update(loss_D_A=loss_D_A, loss_D_B=loss_D_B, loss_D=loss_D)
