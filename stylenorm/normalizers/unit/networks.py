"""UNIT's networks as plain ``nn.Module``s (Liu, Breuel & Kautz, NeurIPS 2017).

Names map to the paper as follows (A = GTA5, B = Cityscapes):

    netE_A, netE_B   E1, E2   private encoder layers (conv 7x7, stride-2 downsamplings, res blocks)
    shared_E         the encoders' last block, shared: both domains land in one latent space Z
    shared_G         the generators' first block, shared
    netG_A, netG_B   G1, G2   private generator layers (res blocks, upsamplings, conv 7x7 + tanh)
    netD_A, netD_B   D1, D2   multi-scale LSGAN patch discriminators

A latent code z = mu + eps, eps ~ N(0, I): the encoder outputs the mean, the variance is fixed
to one, so the KL term reduces to mean(mu^2), as in the authors' implementation.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from stylenorm.translators.base import TranslatorGenerator


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "in":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "ln":  # layer norm over (C, H, W) with a per-channel affine, as UNIT's decoder uses
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}")


def _activation(kind: str) -> nn.Module:
    return {"relu": nn.ReLU(inplace=True), "lrelu": nn.LeakyReLU(0.2, inplace=True),
            "tanh": nn.Tanh(), "none": nn.Identity()}[kind]


class ConvBlock(nn.Sequential):
    """pad -> conv -> norm -> activation."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int,
                 norm: str = "none", activation: str = "relu", pad_type: str = "reflect"):
        pad = nn.ReflectionPad2d(padding) if pad_type == "reflect" else nn.ZeroPad2d(padding)
        super().__init__(pad, nn.Conv2d(cin, cout, kernel, stride, bias=True), _norm(norm, cout), _activation(activation))


class ResBlock(nn.Module):
    def __init__(self, dim: int, norm: str = "in", pad_type: str = "reflect"):
        super().__init__()
        self.body = nn.Sequential(ConvBlock(dim, dim, 3, 1, 1, norm, "relu", pad_type),
                                  ConvBlock(dim, dim, 3, 1, 1, norm, "none", pad_type))

    def forward(self, x):
        return x + self.body(x)


def res_blocks(n: int, dim: int, norm: str = "in", pad_type: str = "reflect") -> nn.Sequential:
    return nn.Sequential(*[ResBlock(dim, norm, pad_type) for _ in range(n)])


class Encoder(nn.Module):
    """Private part of E: (B, 3, H, W) -> (B, dim * 2**n_down, H / 2**n_down, W / 2**n_down)."""

    def __init__(self, dim: int, n_down: int, n_res: int, pad_type: str = "reflect"):
        super().__init__()
        layers = [ConvBlock(3, dim, 7, 1, 3, "in", "relu", pad_type)]
        for _ in range(n_down):
            layers.append(ConvBlock(dim, 2 * dim, 4, 2, 1, "in", "relu", pad_type))
            dim *= 2
        layers.append(res_blocks(n_res, dim, "in", pad_type))
        self.model = nn.Sequential(*layers)
        self.out_dim = dim

    def forward(self, x):
        return self.model(x)


class Generator(nn.Module):
    """Private part of G: latent features -> image in [-1, 1]."""

    def __init__(self, dim: int, n_up: int, n_res: int, pad_type: str = "reflect"):
        super().__init__()
        layers = [res_blocks(n_res, dim, "in", pad_type)]
        for _ in range(n_up):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), ConvBlock(dim, dim // 2, 5, 1, 2, "ln", "relu", pad_type)]
            dim //= 2
        layers.append(ConvBlock(dim, 3, 7, 1, 3, "none", "tanh", pad_type))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class UNITGenerator(TranslatorGenerator):
    """E1, E2, G1, G2 with the shared high-level blocks; one forward computes a whole G step."""

    def __init__(self, dim: int, n_down: int, n_res: int, n_shared: int, pad_type: str = "reflect"):
        super().__init__()
        if not 1 <= n_shared <= n_res:
            raise ValueError(f"n_shared must be in [1, n_res={n_res}], got {n_shared}")
        self.n_downsample = n_down
        self.netE_A = Encoder(dim, n_down, n_res - n_shared, pad_type)
        self.netE_B = Encoder(dim, n_down, n_res - n_shared, pad_type)
        latent = self.netE_A.out_dim
        self.shared_E = res_blocks(n_shared, latent, "in", pad_type)
        self.shared_G = res_blocks(n_shared, latent, "in", pad_type)
        self.netG_A = Generator(latent, n_down, n_res - n_shared, pad_type)
        self.netG_B = Generator(latent, n_down, n_res - n_shared, pad_type)

    def encode(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        """The latent mean mu (B, C_z, h, w)."""
        enc = self.netE_A if domain == "A" else self.netE_B
        return self.shared_E(enc(x))

    def decode(self, z: torch.Tensor, domain: str) -> torch.Tensor:
        gen = self.netG_A if domain == "A" else self.netG_B
        return gen(self.shared_G(z))

    def forward(self, real_A: torch.Tensor, real_B: torch.Tensor, generator: torch.Generator | None = None,
                cycle: bool = True) -> dict[str, torch.Tensor]:
        """Every image and latent of one training step (names as in the UNIT losses)."""
        mu_A, mu_B = self.encode(real_A, "A"), self.encode(real_B, "B")  # (B, C_z, h, w)
        z_A = mu_A + torch.randn(mu_A.shape, generator=generator, device=mu_A.device, dtype=mu_A.dtype)
        z_B = mu_B + torch.randn(mu_B.shape, generator=generator, device=mu_B.device, dtype=mu_B.dtype)
        # Decode each latent in both domains with one batched call per generator.
        out_A = self.decode(torch.cat([z_A, z_B]), "A")  # (2B, 3, H, W): rec_A | fake_A (= B -> A)
        out_B = self.decode(torch.cat([z_A, z_B]), "B")  # (2B, 3, H, W): fake_B (= A -> B) | rec_B
        n = real_A.shape[0]
        rec_A, fake_A = out_A[:n], out_A[n:]
        fake_B, rec_B = out_B[:n], out_B[n:]
        out = {"mu_A": mu_A, "mu_B": mu_B, "rec_A": rec_A, "rec_B": rec_B, "fake_A": fake_A, "fake_B": fake_B}
        if cycle:
            mu_cyc_A = self.encode(fake_B, "B")  # A -> B -> latent
            mu_cyc_B = self.encode(fake_A, "A")
            z_cyc_A = mu_cyc_A + torch.randn(mu_cyc_A.shape, generator=generator, device=mu_A.device, dtype=mu_A.dtype)
            z_cyc_B = mu_cyc_B + torch.randn(mu_cyc_B.shape, generator=generator, device=mu_B.device, dtype=mu_B.dtype)
            out.update(mu_cyc_A=mu_cyc_A, mu_cyc_B=mu_cyc_B,
                       cyc_A=self.decode(z_cyc_A, "A"), cyc_B=self.decode(z_cyc_B, "B"))
        return out

    @torch.no_grad()
    def translate(self, x: torch.Tensor, source: str = "A") -> torch.Tensor:
        """Deterministic translation (z = mu) of images from ``source`` into the other domain."""
        target = "B" if source == "A" else "A"
        return self.decode(self.encode(x, source), target)


class PatchDiscriminator(nn.Sequential):
    def __init__(self, dim: int, n_layer: int, pad_type: str = "reflect"):
        layers = [ConvBlock(3, dim, 4, 2, 1, "none", "lrelu", pad_type)]
        for _ in range(n_layer - 1):
            layers.append(ConvBlock(dim, 2 * dim, 4, 2, 1, "none", "lrelu", pad_type))
            dim *= 2
        layers.append(nn.Conv2d(dim, 1, 1))
        super().__init__(*layers)


class MultiScaleDiscriminator(nn.Module):
    """Patch discriminators on the image and on 2x, 4x ... average-pooled copies."""

    def __init__(self, dim: int, n_layer: int, num_scales: int, pad_type: str = "reflect"):
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(dim, n_layer, pad_type) for _ in range(num_scales))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i, disc in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outs.append(disc(x))  # (B, 1, h_i, w_i)
        return outs


class UNITDiscriminators(nn.Module):
    """D1 and D2 in one module, so one DDP wrapper syncs both."""

    def __init__(self, dim: int, n_layer: int, num_scales: int, pad_type: str = "reflect"):
        super().__init__()
        self.netD_A = MultiScaleDiscriminator(dim, n_layer, num_scales, pad_type)
        self.netD_B = MultiScaleDiscriminator(dim, n_layer, num_scales, pad_type)

    def forward(self, x_A: torch.Tensor, x_B: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        return self.netD_A(x_A), self.netD_B(x_B)


def lsgan_loss(outputs: list[torch.Tensor], target: float) -> torch.Tensor:
    """Least-squares GAN loss summed over scales."""
    return sum(torch.mean((o.float() - target) ** 2) for o in outputs)


def kl_loss(mu: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, I) || N(0, I)) up to constants: mean(mu^2)."""
    return torch.mean(mu.float() ** 2)


def init_weights(module: nn.Module, kind: str) -> None:
    """``kaiming`` (generators, as the authors) or ``gaussian`` N(0, 0.02) (discriminators)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            if kind == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            else:
                nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
