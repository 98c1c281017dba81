"""The UNIT model: networks, losses, optimisers, and the training contract.

set_input -> forward -> backward_G -> backward_D, driven by optimize_parameters(), as
pytorch-CycleGAN-and-pix2pix structures its models.

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
A = GTA5 (source), B = Cityscapes (target).
"""
from __future__ import annotations

import contextlib
from dataclasses import asdict

import torch
import torch.nn.functional as F

from stylenorm.translators.networks import UNITDiscriminators, UNITGenerator, init_weights, kl_loss, lsgan_loss


def build_generator(cfg) -> UNITGenerator:
    g = cfg.gen
    net = UNITGenerator(g.dim, g.n_downsample, g.n_res, g.n_shared, g.pad_type)
    init_weights(net, "kaiming")
    return net


def build_discriminators(cfg) -> UNITDiscriminators:
    d = cfg.dis
    net = UNITDiscriminators(d.dim, d.n_layer, d.num_scales, cfg.gen.pad_type)
    init_weights(net, "gaussian")
    return net


def set_requires_grad(module: torch.nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


class UNITModel:
    """Holds netG (E1, E2, G1, G2 + shared blocks) and netD (D1, D2), their optimisers and schedules.

    ``wrap`` (e.g. a DistributedDataParallel constructor) is applied to both networks; the
    unwrapped modules stay reachable as ``self.netG`` / ``self.netD``.
    """

    def __init__(self, cfg, device: torch.device, seed: int = 0, wrap=None):
        self.cfg, self.device = cfg, device
        torch.manual_seed(seed)
        self.netG = build_generator(cfg).to(device)
        self.netD = build_discriminators(cfg).to(device)
        if cfg.channels_last:
            self.netG.to(memory_format=torch.channels_last)
            self.netD.to(memory_format=torch.channels_last)
        self.trainG = wrap(self.netG) if wrap else self.netG
        self.trainD = wrap(self.netD) if wrap else self.netD
        adam = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay)
        self.optimizer_G = torch.optim.Adam(self.netG.parameters(), **adam)
        self.optimizer_D = torch.optim.Adam(self.netD.parameters(), **adam)
        self.scheduler_G = torch.optim.lr_scheduler.StepLR(self.optimizer_G, cfg.lr_step_size, cfg.lr_gamma)
        self.scheduler_D = torch.optim.lr_scheduler.StepLR(self.optimizer_D, cfg.lr_step_size, cfg.lr_gamma)
        self.noise = torch.Generator(device=device).manual_seed(seed)  # the latent noise, checkpointed
        self.losses: dict[str, torch.Tensor] = {}

    def reseed(self, seed: int) -> None:
        """A fresh latent-noise stream (e.g. one per DDP rank)."""
        self.noise.manual_seed(seed)

    # ------------------------------------------------------------------ the contract
    def _autocast(self):
        if self.cfg.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def set_input(self, real_A: torch.Tensor, real_B: torch.Tensor) -> None:
        fmt = torch.channels_last if self.cfg.channels_last else torch.contiguous_format
        self.real_A = real_A.to(self.device, non_blocking=True).contiguous(memory_format=fmt)  # (B, 3, H, W)
        self.real_B = real_B.to(self.device, non_blocking=True).contiguous(memory_format=fmt)

    def forward(self) -> None:
        with self._autocast():
            self.out = self.trainG(self.real_A, self.real_B, generator=self.noise,
                                   cycle=self.cfg.loss.recon_x_cyc_w > 0 or self.cfg.loss.recon_kl_cyc_w > 0)

    def backward_G(self) -> None:
        w, o = self.cfg.loss, self.out
        with self._autocast():
            d_fake_A, d_fake_B = self.netD(o["fake_A"], o["fake_B"])  # unwrapped: no DDP sync for D here
        L = {
            "loss_G_adv_A": lsgan_loss(d_fake_A, 1.0), "loss_G_adv_B": lsgan_loss(d_fake_B, 1.0),
            "loss_rec_A": F.l1_loss(o["rec_A"].float(), self.real_A), "loss_rec_B": F.l1_loss(o["rec_B"].float(), self.real_B),
            "loss_kl_A": kl_loss(o["mu_A"]), "loss_kl_B": kl_loss(o["mu_B"]),
        }
        total = (w.gan_w * (L["loss_G_adv_A"] + L["loss_G_adv_B"]) + w.recon_x_w * (L["loss_rec_A"] + L["loss_rec_B"])
                 + w.recon_kl_w * (L["loss_kl_A"] + L["loss_kl_B"]))
        if "cyc_A" in o:
            L.update(loss_cycle_A=F.l1_loss(o["cyc_A"].float(), self.real_A), loss_cycle_B=F.l1_loss(o["cyc_B"].float(), self.real_B),
                     loss_kl_cyc_A=kl_loss(o["mu_cyc_A"]), loss_kl_cyc_B=kl_loss(o["mu_cyc_B"]))
            total = total + w.recon_x_cyc_w * (L["loss_cycle_A"] + L["loss_cycle_B"]) \
                + w.recon_kl_cyc_w * (L["loss_kl_cyc_A"] + L["loss_kl_cyc_B"])
        L["loss_G"] = total
        total.backward()
        self.losses.update(L)

    def backward_D(self) -> None:
        o = self.out
        n = self.real_A.shape[0]
        with self._autocast():  # fakes and reals in one batch: one forward (D has no batch statistics)
            out_A, out_B = self.trainD(torch.cat([o["fake_A"].detach(), self.real_A]),
                                       torch.cat([o["fake_B"].detach(), self.real_B]))
        loss_D_A = lsgan_loss([x[:n] for x in out_A], 0.0) + lsgan_loss([x[n:] for x in out_A], 1.0)
        loss_D_B = lsgan_loss([x[:n] for x in out_B], 0.0) + lsgan_loss([x[n:] for x in out_B], 1.0)
        loss_D = self.cfg.loss.gan_w * (loss_D_A + loss_D_B)
        loss_D.backward()
        self.losses.update(loss_D_A=loss_D_A, loss_D_B=loss_D_B, loss_D=loss_D)

    def optimize_parameters(self) -> None:
        self.forward()
        set_requires_grad(self.netD, False)  # the G step needs no gradients for D's weights
        self.optimizer_G.zero_grad(set_to_none=True)
        self.backward_G()
        self.optimizer_G.step()
        set_requires_grad(self.netD, True)
        self.optimizer_D.zero_grad(set_to_none=True)
        self.backward_D()
        self.optimizer_D.step()
        self.scheduler_G.step()
        self.scheduler_D.step()

    def current_losses(self) -> dict[str, float]:
        return {k: float(v.detach()) for k, v in self.losses.items()}

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        return {
            "netG": self.netG.state_dict(), "netD": self.netD.state_dict(),
            "optimizer_G": self.optimizer_G.state_dict(), "optimizer_D": self.optimizer_D.state_dict(),
            "scheduler_G": self.scheduler_G.state_dict(), "scheduler_D": self.scheduler_D.state_dict(),
            "noise": self.noise.get_state(), "config": asdict(self.cfg),
        }

    def load_state_dict(self, state: dict) -> None:
        self.netG.load_state_dict(state["netG"])
        self.netD.load_state_dict(state["netD"])
        self.optimizer_G.load_state_dict(state["optimizer_G"])
        self.optimizer_D.load_state_dict(state["optimizer_D"])
        self.scheduler_G.load_state_dict(state["scheduler_G"])
        self.scheduler_D.load_state_dict(state["scheduler_D"])
        self.noise.set_state(state["noise"].cpu())  # a GPU resume loads it onto the GPU; generator states are CPU bytes
