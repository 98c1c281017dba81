"""The CycleGAN model: losses, image pools and optimisers on the translator contract of
``stylenorm.translators.base.TranslatorModel`` (set_input -> forward -> backward_G -> backward_D, driven
by optimize_parameters(); state_dict() for bit-identical resumption), which the shared loop drives. Defaults are the reference implementation's (junyanz/pytorch-CycleGAN-and-pix2pix,
``--model cycle_gan``); the second study's choices (gan_mode, dropout_D, gp_weight, norm_G) are options.

Paper names (A = the pair's source = the paper's X, B = its target = Y): netG_A = G, netG_B = F, netD_A = D_Y,
netD_B = D_X; fake_B = G(real_A), rec_A = F(G(real_A)), idt_A = G(real_B), and symmetrically.

Losses: loss_G_A / loss_G_B (adversarial, G through D_A / F through D_B), loss_cycle_A / loss_cycle_B
(lambda_A |rec_A - real_A|_1, lambda_B |rec_B - real_B|_1), loss_idt_A / loss_idt_B
(lambda_identity lambda_B |idt_A - real_B|_1, lambda_identity lambda_A |idt_B - real_A|_1), loss_G;
loss_D_A / loss_D_B ((real + fake) / 2, plus gp_weight x gradient penalty), loss_D; and D's
accuracies acc_D_A_real, acc_D_A_fake, acc_D_B_real, acc_D_B_fake: a discriminator near 1.0 on
both while loss_G_A climbs is the "discriminator overpowers the generator" signal.

Speed (measured in benchmarks/bench_cyclegan.py): one generator forward per iteration serves both
updates, as in the reference; with instance norm each generator runs its translation and its
identity mapping as one batched call; D's weights need no gradients in the G step; each D judges
pooled fakes and reals (and gradient-penalty interpolates) in one batched call.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from stylenorm.normalizers.cyclegan.config import CycleGANFit
from stylenorm.normalizers.cyclegan.networks import (CycleGANDiscriminators, CycleGANGenerators, GANLoss, SeededDropout,
                                                     gradient_penalty, init_normal)
from stylenorm.translators.base import TranslatorModel, set_requires_grad


def build_generator(cfg: CycleGANFit) -> CycleGANGenerators:
    """netG_A and netG_B, initialised; ``.translate(x, source)`` is what the apply step calls."""
    net = CycleGANGenerators(cfg.ngf, cfg.n_blocks, cfg.norm_G)
    init_normal(net, cfg.init_gain)
    return net


def build_discriminators(cfg: CycleGANFit) -> CycleGANDiscriminators:
    net = CycleGANDiscriminators(cfg.ndf, cfg.n_layers_D, "instance", cfg.dropout_D)
    init_normal(net, cfg.init_gain)
    return net


def linear_decay(iterations: int, decay_iterations: int):
    """lr factor after ``t`` scheduler steps: 1 until iterations - decay_iterations, then linearly to 0 at t = iterations."""
    def factor(t: int) -> float:
        if decay_iterations == 0:
            return 1.0
        return max(0.0, min(1.0, (iterations - t) / decay_iterations))
    return factor


class ImagePool:
    """A history of generated images (Shrivastava et al.), so D also sees older generators' fakes.

    Until ``size`` images are stored, each queried image is stored and returned. Then, per image, with
    probability 1/2 a uniformly chosen stored image is returned and replaced by the new one; otherwise
    the new image is returned. Draws come from the pool's own generator (checkpointed), never the
    global RNG.
    """

    def __init__(self, size: int, seed: int = 0):
        self.size = size
        self.images: list[torch.Tensor] = []  # each (1, C, H, W), detached
        self.rng = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for img in images.detach().split(1):  # (1, C, H, W)
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif torch.rand((), generator=self.rng).item() < 0.5:
                i = int(torch.randint(self.size, (), generator=self.rng))
                out.append(self.images[i])
                self.images[i] = img.clone()
            else:
                out.append(img)
        return torch.cat(out)

    def state_dict(self) -> dict:
        return {"images": list(self.images), "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.images = list(state["images"])
        self.rng.set_state(state["rng"].cpu())  # a GPU resume loads it onto the GPU; generator states are CPU bytes


class CycleGANModel(TranslatorModel):
    """netG (netG_A, netG_B) and netD (netD_A, netD_B), Adam with the linear decay each, and the image
    pools; ``self.noise`` draws D's dropout masks and the gradient penalty's mixing weights."""

    model_names = ("G", "D")
    build_generator = staticmethod(build_generator)

    def __init__(self, cfg: CycleGANFit, device: torch.device, seed: int = 0, wrap=None):
        super().__init__(cfg, device, seed=seed, wrap=wrap)
        self.fake_A_pool = ImagePool(cfg.pool_size, seed=seed * 2 + 1)  # fakes shown to netD_B
        self.fake_B_pool = ImagePool(cfg.pool_size, seed=seed * 2 + 2)  # fakes shown to netD_A
        for m in self.netD.modules():
            if isinstance(m, SeededDropout):
                m.generator = self.noise
        self.gan_loss = GANLoss(cfg.gan_mode)
        idt = cfg.lambda_identity > 0
        self.visual_names = (("real_A", "fake_B", "rec_A") + (("idt_A",) if idt else ()),
                             ("real_B", "fake_A", "rec_B") + (("idt_B",) if idt else ()))
        self.loss_names = ["loss_G_A", "loss_G_B", "loss_cycle_A", "loss_cycle_B",
                           *(["loss_idt_A", "loss_idt_B"] if idt else []), "loss_G",
                           "acc_D_A_real", "acc_D_A_fake", "acc_D_B_real", "acc_D_B_fake",
                           *(["loss_gp_D_A", "loss_gp_D_B"] if cfg.gp_weight > 0 else []), "loss_D_A", "loss_D_B", "loss_D"]

    def build_networks(self, cfg: CycleGANFit) -> dict[str, torch.nn.Module]:
        return {"G": build_generator(cfg), "D": build_discriminators(cfg)}

    def build_optimizer(self, name: str, net: torch.nn.Module):
        c = self.cfg
        optimizer = torch.optim.Adam(net.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, linear_decay(c.iterations, c.decay_iterations))

    def reseed(self, seed: int) -> None:
        """Fresh streams for the pools and the noise (e.g. one per DDP rank)."""
        self.fake_A_pool.rng.manual_seed(seed * 2 + 1)
        self.fake_B_pool.rng.manual_seed(seed * 2 + 2)
        super().reseed(seed)

    def extra_state(self) -> dict:
        return {"fake_A_pool": self.fake_A_pool.state_dict(), "fake_B_pool": self.fake_B_pool.state_dict()}

    def load_extra_state(self, state: dict) -> None:
        self.fake_A_pool.load_state_dict(state["fake_A_pool"])
        self.fake_B_pool.load_state_dict(state["fake_B_pool"])

    def forward(self) -> None:
        """fake_B, rec_A, fake_A, rec_B (and idt_A, idt_B when lambda_identity > 0), once per iteration."""
        with self._autocast():
            self.out = self.trainG(self.real_A, self.real_B, identity=self.cfg.lambda_identity > 0)

    def backward_G(self) -> None:
        """G's and F's losses; D's weights get no gradients (their requires_grad is off here)."""
        c, o = self.cfg, self.out
        set_requires_grad(self.netD, False)
        with self._autocast():
            pred_fake_B, pred_fake_A = self.netD(o["fake_B"], o["fake_A"])  # unwrapped: no DDP sync for D here
        L = {
            "loss_G_A": self.gan_loss(pred_fake_B, True), "loss_G_B": self.gan_loss(pred_fake_A, True),
            "loss_cycle_A": c.lambda_A * F.l1_loss(o["rec_A"].float(), self.real_A),
            "loss_cycle_B": c.lambda_B * F.l1_loss(o["rec_B"].float(), self.real_B),
        }
        if "idt_A" in o:
            L["loss_idt_A"] = c.lambda_identity * c.lambda_B * F.l1_loss(o["idt_A"].float(), self.real_B)
            L["loss_idt_B"] = c.lambda_identity * c.lambda_A * F.l1_loss(o["idt_B"].float(), self.real_A)
        L["loss_G"] = sum(L.values())
        L["loss_G"].backward()
        self.losses.update(L)

    def _loss_D_one(self, scores: torch.Tensor, n: int, name: str) -> torch.Tensor:
        """Loss of one D from its batched scores: fakes [:n], reals [n:2n], GP interpolates [2n:]."""
        fake, real = scores[:n], scores[n:2 * n]
        loss = 0.5 * (self.gan_loss(real, True) + self.gan_loss(fake, False))
        self.losses[f"acc_{name}_real"] = self.gan_loss.accuracy(real, True)
        self.losses[f"acc_{name}_fake"] = self.gan_loss.accuracy(fake, False)
        return loss

    def backward_D(self) -> None:
        """Both D's losses on pooled (detached) fakes and reals: one batched call per D."""
        c, o, n = self.cfg, self.out, self.real_A.shape[0]
        set_requires_grad(self.netD, True)
        real_A, real_B = self.real_A, self.real_B
        fake_B = self.fake_B_pool.query(o["fake_B"].detach()).to(real_B.dtype)  # (B, 3, H, W)
        fake_A = self.fake_A_pool.query(o["fake_A"].detach()).to(real_A.dtype)
        x_B, x_A = [fake_B, real_B], [fake_A, real_A]
        if c.gp_weight > 0:  # per-sample mixes of real and fake (Gulrajani et al.), judged in the same call
            for xs, real, fake in ((x_B, real_B, fake_B), (x_A, real_A, fake_A)):
                alpha = torch.rand(n, 1, 1, 1, generator=self.noise, device=self.device)
                xs.append((alpha * real + (1 - alpha) * fake).requires_grad_(True))
        with self._autocast():
            scores_B, scores_A = self.trainD(torch.cat(x_B), torch.cat(x_A))  # (2B or 3B, 1, h, w) each
        loss_D_A = self._loss_D_one(scores_B, n, "D_A")  # netD_A judges B images
        loss_D_B = self._loss_D_one(scores_A, n, "D_B")  # netD_B judges A images
        if c.gp_weight > 0:
            gp_A, gp_B = gradient_penalty([scores_B[2 * n:], scores_A[2 * n:]], [x_B[2], x_A[2]])
            self.losses.update(loss_gp_D_A=gp_A, loss_gp_D_B=gp_B)
            loss_D_A = loss_D_A + c.gp_weight * gp_A
            loss_D_B = loss_D_B + c.gp_weight * gp_B
        self.losses.update(loss_D_A=loss_D_A, loss_D_B=loss_D_B)
        loss_D = loss_D_A + loss_D_B
        loss_D.backward()
        self.losses["loss_D"] = loss_D
