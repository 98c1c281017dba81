"""The MUNIT model: networks, losses and optimisers on the translator contract of
``stylenorm.translators.base.TranslatorModel`` (set_input -> forward -> backward_G -> backward_D, driven
by optimize_parameters(); state_dict() for bit-identical resumption), which the shared loop drives.

Losses (the authors' ``MUNIT_Trainer.gen_update`` / ``dis_update``, NVlabs/MUNIT; A = the pair's source, B = its target: GTA5 and Cityscapes by default):
loss_G_adv_A / loss_G_adv_B (LSGAN on fake_A = G_1(c_B, s_A) and fake_B = G_2(c_A, s_B), s ~ N(0, I)),
loss_rec_A / loss_rec_B (L1 of the within-domain reconstructions), loss_rec_s_A / loss_rec_s_B (L1 of the
style code re-encoded from a translation against the drawn code), loss_rec_c_A / loss_rec_c_B (L1 of the
content code re-encoded from a translation against the original's), with recon_x_cyc_w > 0
loss_cycle_A / loss_cycle_B (L1 of the style-augmented cycle images), loss_G (the weighted sum);
loss_D_A / loss_D_B (LSGAN, fakes and reals), loss_D.

How this differs from the authors' code, on purpose (as UNIT here):

* Update order: the G step runs first and the D step judges its fakes, detached, before G's update
  (CycleGAN's reference order); the authors run ``dis_update`` then ``gen_update``, each with its own
  encode and decode of fresh style draws. One generator forward per iteration serves both updates here,
  each decoder decodes its reconstruction and its translation in one batched call, and D's weights get
  no gradients in the G step (the authors' G step computes them and discards them at the next zero_grad).
* No domain-invariant perceptual loss (``vgg_w``: 0 in the authors' edges2handbags config, 1 in their
  synthia2cityscape one): it needs the authors' converted VGG16 weights, which this project does not fetch.
* Layer norm in the decoders' upsampling layers is ``GroupNorm(1, C)`` (``stylenorm/translators/blocks.py``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from stylenorm.normalizers.munit.config import MUNITFit
from stylenorm.normalizers.munit.networks import MUNITGenerator
from stylenorm.translators.blocks import MultiScaleDiscriminatorPair, init_weights
from stylenorm.translators.lsgan_pair import LSGANPairModel


def build_generator(cfg: MUNITFit) -> MUNITGenerator:
    g = cfg.gen
    net = MUNITGenerator(g.dim, g.style_dim, g.n_downsample, g.n_res, g.mlp_dim, g.activ, g.pad_type)
    init_weights(net, "kaiming")
    return net


def build_discriminators(cfg: MUNITFit) -> MultiScaleDiscriminatorPair:
    d = cfg.dis
    net = MultiScaleDiscriminatorPair(d.dim, d.n_layer, d.num_scales, cfg.gen.pad_type)
    init_weights(net, "gaussian")
    return net


class MUNITModel(LSGANPairModel):
    """netG (E^c, E^s, G of both domains) and netD (D_1, D_2), Adam with a step schedule each;
    ``self.noise`` draws the training style codes."""

    build_generator = staticmethod(build_generator)
    build_discriminators = staticmethod(build_discriminators)

    def __init__(self, cfg: MUNITFit, device: torch.device, seed: int = 0, wrap=None):
        super().__init__(cfg, device, seed=seed, wrap=wrap)
        self.cycle = cfg.loss.recon_x_cyc_w > 0
        self.visual_names = (("real_A", "fake_B", "rec_A") + (("cyc_A",) if self.cycle else ()),
                             ("real_B", "fake_A", "rec_B") + (("cyc_B",) if self.cycle else ()))
        self.loss_names = ["loss_G_adv_A", "loss_G_adv_B", "loss_rec_A", "loss_rec_B", "loss_rec_s_A", "loss_rec_s_B",
                           "loss_rec_c_A", "loss_rec_c_B", *(["loss_cycle_A", "loss_cycle_B"] if self.cycle else []),
                           "loss_G", "loss_D_A", "loss_D_B", "loss_D"]

    def backward_G(self) -> None:
        w, o = self.cfg.loss, self.out
        adv_A, adv_B = self.adversarial_losses()

        def l1(x, y):
            return F.l1_loss(x.float(), y.float())

        L = {"loss_G_adv_A": adv_A, "loss_G_adv_B": adv_B,
             "loss_rec_A": l1(o["rec_A"], self.real_A), "loss_rec_B": l1(o["rec_B"], self.real_B),
             "loss_rec_s_A": l1(o["s_rec_A"], o["s_A"]), "loss_rec_s_B": l1(o["s_rec_B"], o["s_B"]),
             "loss_rec_c_A": l1(o["c_rec_A"], o["c_A"]), "loss_rec_c_B": l1(o["c_rec_B"], o["c_B"])}
        total = (w.gan_w * (L["loss_G_adv_A"] + L["loss_G_adv_B"]) + w.recon_x_w * (L["loss_rec_A"] + L["loss_rec_B"])
                 + w.recon_s_w * (L["loss_rec_s_A"] + L["loss_rec_s_B"]) + w.recon_c_w * (L["loss_rec_c_A"] + L["loss_rec_c_B"]))
        if self.cycle:
            L.update(loss_cycle_A=l1(o["cyc_A"], self.real_A), loss_cycle_B=l1(o["cyc_B"], self.real_B))
            total = total + w.recon_x_cyc_w * (L["loss_cycle_A"] + L["loss_cycle_B"])
        L["loss_G"] = total
        total.backward()
        self.losses.update(L)
