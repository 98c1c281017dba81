"""The UNIT model: networks, losses, optimisers, and the training contract.

The contract of ``stylenorm.translators.base.TranslatorModel`` (set_input -> forward -> backward_G ->
backward_D, driven by optimize_parameters(), as pytorch-CycleGAN-and-pix2pix structures its models):
this module gives the networks, the losses and the optimisers.

How this differs from the authors' code (mingyuliutw/UNIT), on purpose:

* Update order: the G step runs first and the D step reuses its fakes, detached (as CycleGAN's
  reference code does); the authors run the D update first and the G update second, each with
  its own generator forward. So one generator forward per iteration serves both updates here,
  and the D step sees the fakes of the G step's input batch, before G's update.
* Weight sharing follows the paper: the last encoder block(s) (``shared_E``) and the first
  generator block(s) (``shared_G``) are single modules used by both domains (``gen.n_shared``);
  the authors' later PyTorch code keeps separate per-domain networks without shared layers.
* Precision: ``unit.fit.precision``; both the embedded default and the paper profile train in
  fp32. bf16 autocast was slower on a CPU without bf16 instructions and has not been shown equal
  at the authors' sizes (docs/benchmarks.md).
* No VGG perceptual loss (the authors' GTA->Cityscapes config adds one; the paper has none).

Loss names: loss_G_adv_A/B (LSGAN on fake_A/B), loss_rec_A/B (within-domain L1),
loss_kl_A/B, loss_cycle_A/B (L1 of cyc_A/B vs real), loss_kl_cyc_A/B, loss_D_A/B.
A = the pair's source, B = its target: GTA5 and Cityscapes by default.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from stylenorm.normalizers.unit.config import UNITFit
from stylenorm.normalizers.unit.networks import UNITGenerator, kl_loss
from stylenorm.translators.blocks import MultiScaleDiscriminatorPair, init_weights
from stylenorm.translators.lsgan_pair import LSGANPairModel


def build_generator(cfg: UNITFit) -> UNITGenerator:
    g = cfg.gen
    net = UNITGenerator(g.dim, g.n_downsample, g.n_res, g.n_shared, g.pad_type)
    init_weights(net, "kaiming")
    return net


def build_discriminators(cfg: UNITFit) -> MultiScaleDiscriminatorPair:
    d = cfg.dis
    net = MultiScaleDiscriminatorPair(d.dim, d.n_layer, d.num_scales, cfg.gen.pad_type)
    init_weights(net, "gaussian")
    return net


class UNITModel(LSGANPairModel):
    """netG (E1, E2, G1, G2 + shared blocks) and netD (D1, D2), Adam with a step schedule each;
    ``self.noise`` draws the latent noise."""

    build_generator = staticmethod(build_generator)
    build_discriminators = staticmethod(build_discriminators)

    def __init__(self, cfg: UNITFit, device: torch.device, seed: int = 0, wrap=None):
        super().__init__(cfg, device, seed=seed, wrap=wrap)
        w = cfg.loss
        self.cycle = w.recon_x_cyc_w > 0 or w.recon_kl_cyc_w > 0  # the cycle pass A -> B -> A (and B -> A -> B)
        self.visual_names = (("real_A", "fake_B", "rec_A") + (("cyc_A",) if self.cycle else ()),
                             ("real_B", "fake_A", "rec_B") + (("cyc_B",) if self.cycle else ()))
        cyc = ["loss_cycle_A", "loss_cycle_B", "loss_kl_cyc_A", "loss_kl_cyc_B"] if self.cycle else []
        self.loss_names = ["loss_G_adv_A", "loss_G_adv_B", "loss_rec_A", "loss_rec_B", "loss_kl_A", "loss_kl_B", *cyc, "loss_G",
                           "loss_D_A", "loss_D_B", "loss_D"]

    def backward_G(self) -> None:
        w, o = self.cfg.loss, self.out
        adv_A, adv_B = self.adversarial_losses()
        L = {
            "loss_G_adv_A": adv_A, "loss_G_adv_B": adv_B,
            "loss_rec_A": F.l1_loss(o["rec_A"].float(), self.real_A), "loss_rec_B": F.l1_loss(o["rec_B"].float(), self.real_B),
            "loss_kl_A": kl_loss(o["mu_A"]), "loss_kl_B": kl_loss(o["mu_B"]),
        }
        total = (w.gan_w * (L["loss_G_adv_A"] + L["loss_G_adv_B"]) + w.recon_x_w * (L["loss_rec_A"] + L["loss_rec_B"])
                 + w.recon_kl_w * (L["loss_kl_A"] + L["loss_kl_B"]))
        if self.cycle:
            L.update(loss_cycle_A=F.l1_loss(o["cyc_A"].float(), self.real_A), loss_cycle_B=F.l1_loss(o["cyc_B"].float(), self.real_B),
                     loss_kl_cyc_A=kl_loss(o["mu_cyc_A"]), loss_kl_cyc_B=kl_loss(o["mu_cyc_B"]))
            total = total + w.recon_x_cyc_w * (L["loss_cycle_A"] + L["loss_cycle_B"]) \
                + w.recon_kl_cyc_w * (L["loss_kl_cyc_A"] + L["loss_kl_cyc_B"])
        L["loss_G"] = total
        total.backward()
        self.losses.update(L)
