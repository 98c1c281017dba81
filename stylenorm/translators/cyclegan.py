"""The CycleGAN model: config, networks, losses, image pools, optimisers and the training contract.

Same contract as ``UNITModel`` (set_input -> forward -> backward_G -> backward_D, driven by
optimize_parameters(); state_dict() for bit-identical resumption), so the translator training
loop drives either. Defaults are the reference implementation's (junyanz/pytorch-CycleGAN-and-pix2pix,
``--model cycle_gan``); the second study's choices (gan_mode, dropout_D, gp_weight, norm_G) are options.

Paper names (A = GTA5 = the paper's X, B = Cityscapes = Y): netG_A = G, netG_B = F, netD_A = D_Y,
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

import contextlib
from dataclasses import asdict, dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from stylenorm.config import ConfigError
from stylenorm.translators.cyclegan_networks import (CycleGANDiscriminators, CycleGANGenerators, GANLoss, SeededDropout,
                                                     gradient_penalty, init_normal)
from stylenorm.translators.unit import set_requires_grad


@dataclass(frozen=True)
class CycleGANFit:
    """Everything that determines a CycleGAN training run (reference defaults unless noted)."""

    ngf: int = 64                    # generator channels after the first conv; x2 per downsampling
    n_blocks: int = 9                # residual blocks in each generator (resnet_9blocks; resnet_6blocks = 6)
    norm_G: Literal["instance", "batch"] = "instance"  # generators' normalisation
    ndf: int = 64                    # discriminator channels after the first conv; x2 per layer, capped at 8 ndf
    n_layers_D: int = 3              # stride-2 conv layers of the PatchGAN (3 = 70x70 patches)
    dropout_D: float = 0.0           # dropout rate after D's inner LeakyReLUs (the second study; reference: none)
    gan_mode: Literal["lsgan", "vanilla", "wgangp"] = "lsgan"  # adversarial objective (see GANLoss)
    gp_weight: float = 0.0           # gradient-penalty weight on D, any gan_mode; wgangp needs > 0 (WGAN-GP: 10)
    lambda_A: float = 10.0           # cycle weight A -> B -> A
    lambda_B: float = 10.0           # cycle weight B -> A -> B
    lambda_identity: float = 0.5     # identity weight, times lambda_A / lambda_B; 0 skips the identity pass
    pool_size: int = 50              # fakes each D's history pool holds; 0 = judge the newest fakes only
    init_gain: float = 0.02          # std of the N(0, gain) weight init
    lr: float = 0.0002               # Adam learning rate, G and D
    beta1: float = 0.5               # Adam beta1
    beta2: float = 0.999             # Adam beta2
    new_size: int = 286              # training images: shorter side resized to this, pixels (reference load_size)
    crop_size: int = 256             # then a random square crop, pixels; multiple of 4
    batch_size: int = 1              # image pairs per iteration
    iterations: int = 158000         # total iterations (reference: 100 + 100 epochs of ~790 images at batch 1)
    decay_iterations: int = 79000    # the last this many iterations decay the lr linearly to 0
    log_every: int = 100             # iterations between DVCLive loss logs
    image_every: int = 400           # iterations between image grids
    checkpoint_every: int = 5000     # iterations between checkpoints
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16 = bfloat16 autocast
    channels_last: bool = False      # NHWC memory format

    def __post_init__(self):
        def need(ok: bool, key: str, msg: str) -> None:
            if not ok:
                raise ConfigError(f"cyclegan.fit.{key}: {msg}")

        for key in ("ngf", "ndf", "n_layers_D", "new_size", "crop_size", "batch_size", "iterations", "log_every",
                    "image_every", "checkpoint_every"):
            need(getattr(self, key) >= 1, key, "must be >= 1")
        for key in ("n_blocks", "pool_size"):
            need(getattr(self, key) >= 0, key, "must be >= 0")
        need(0 <= self.decay_iterations <= self.iterations, "decay_iterations", "must be in [0, iterations]")
        need(self.crop_size <= self.new_size, "crop_size", f"must be <= new_size ({self.new_size})")
        need(self.crop_size % 4 == 0, "crop_size", "must be a multiple of 4 (two stride-2 downsamplings)")
        need(0 <= self.dropout_D < 1, "dropout_D", "must be in [0, 1)")
        need(self.gp_weight >= 0, "gp_weight", "must be >= 0")
        need(self.gan_mode != "wgangp" or self.gp_weight > 0, "gp_weight",
             "gan_mode wgangp needs a gradient penalty: set gp_weight > 0 (Gulrajani et al.: 10)")
        for key in ("lambda_A", "lambda_B", "lambda_identity", "init_gain", "lr"):
            need(getattr(self, key) >= 0, key, "must be >= 0")


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


class CycleGANModel:
    """Holds netG (netG_A, netG_B) and netD (netD_A, netD_B), their optimisers, schedules and image pools.

    ``wrap`` (e.g. a DistributedDataParallel constructor) is applied to both networks; the unwrapped
    modules stay reachable as ``self.netG`` / ``self.netD``.
    """

    def __init__(self, cfg: CycleGANFit, device: torch.device, seed: int = 0, wrap=None):
        self.cfg, self.device = cfg, device
        torch.manual_seed(seed)
        self.netG = build_generator(cfg).to(device)
        self.netD = build_discriminators(cfg).to(device)
        if cfg.channels_last:
            self.netG.to(memory_format=torch.channels_last)
            self.netD.to(memory_format=torch.channels_last)
        self.trainG = wrap(self.netG) if wrap else self.netG
        self.trainD = wrap(self.netD) if wrap else self.netD
        adam = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.optimizer_G = torch.optim.Adam(self.netG.parameters(), **adam)
        self.optimizer_D = torch.optim.Adam(self.netD.parameters(), **adam)
        decay = linear_decay(cfg.iterations, cfg.decay_iterations)
        self.scheduler_G = torch.optim.lr_scheduler.LambdaLR(self.optimizer_G, decay)
        self.scheduler_D = torch.optim.lr_scheduler.LambdaLR(self.optimizer_D, decay)
        self.fake_A_pool = ImagePool(cfg.pool_size, seed=seed * 2 + 1)  # fakes shown to netD_B
        self.fake_B_pool = ImagePool(cfg.pool_size, seed=seed * 2 + 2)  # fakes shown to netD_A
        self.noise = torch.Generator(device=device).manual_seed(seed)  # D's dropout masks and the GP's mixing weights
        for m in self.netD.modules():
            if isinstance(m, SeededDropout):
                m.generator = self.noise
        self.gan_loss = GANLoss(cfg.gan_mode)
        self.losses: dict[str, torch.Tensor] = {}
        self.out: dict[str, torch.Tensor] = {}

    def reseed(self, seed: int) -> None:
        """Fresh streams for the pools and the noise (e.g. one per DDP rank)."""
        self.fake_A_pool.rng.manual_seed(seed * 2 + 1)
        self.fake_B_pool.rng.manual_seed(seed * 2 + 2)
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

    def optimize_parameters(self) -> None:
        self.forward()
        self.optimizer_G.zero_grad(set_to_none=True)
        self.backward_G()
        self.optimizer_G.step()
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
            "fake_A_pool": self.fake_A_pool.state_dict(), "fake_B_pool": self.fake_B_pool.state_dict(),
            "noise": self.noise.get_state(), "config": asdict(self.cfg),
        }

    def load_state_dict(self, state: dict) -> None:
        self.netG.load_state_dict(state["netG"])
        self.netD.load_state_dict(state["netD"])
        self.optimizer_G.load_state_dict(state["optimizer_G"])
        self.optimizer_D.load_state_dict(state["optimizer_D"])
        self.scheduler_G.load_state_dict(state["scheduler_G"])
        self.scheduler_D.load_state_dict(state["scheduler_D"])
        self.fake_A_pool.load_state_dict(state["fake_A_pool"])
        self.fake_B_pool.load_state_dict(state["fake_B_pool"])
        self.noise.set_state(state["noise"].cpu())  # a GPU resume loads it onto the GPU; generator states are CPU bytes
