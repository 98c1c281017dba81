"""UNIT's networks as plain ``nn.Module``s (Liu, Breuel & Kautz, NeurIPS 2017).

Names map to the paper as follows (A = the pair's source, B = its target: GTA5 and Cityscapes by default):

    netE_A, netE_B   E1, E2   private encoder layers (conv 7x7, stride-2 downsamplings, res blocks)
    shared_E         the encoders' last block, shared: both domains land in one latent space Z
    shared_G         the generators' first block, shared
    netG_A, netG_B   G1, G2   private generator layers (res blocks, upsamplings, conv 7x7 + tanh)
    netD_A, netD_B   D1, D2   multi-scale LSGAN patch discriminators

The blocks (convolutions, residual blocks, the encoder, the generators' upsampling tail, the
discriminators) are ``stylenorm/translators/blocks.py``, shared with MUNIT.

A latent code z = mu + eps, eps ~ N(0, I): the encoder outputs the mean, the variance is fixed
to one, so the KL term reduces to mean(mu^2), as in the authors' implementation.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from stylenorm.translators.base import TranslatorGenerator
from stylenorm.translators.blocks import Encoder, MultiScaleDiscriminator, res_blocks, upsampling_layers

__all__ = ["Encoder", "Generator", "MultiScaleDiscriminator", "UNITGenerator", "kl_loss"]


class Generator(nn.Module):
    """Private part of G: latent features -> image in [-1, 1]."""

    def __init__(self, dim: int, n_up: int, n_res: int, pad_type: str = "reflect"):
        super().__init__()
        self.model = nn.Sequential(res_blocks(n_res, dim, "in", pad_type), *upsampling_layers(dim, n_up, pad_type))

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


def kl_loss(mu: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, I) || N(0, I)) up to constants: mean(mu^2)."""
    return torch.mean(mu.float() ** 2)
