"""MUNIT's networks as plain ``nn.Module``s (Huang, Liu, Belongie & Kautz, ECCV 2018).

Names map to the paper as follows (A = the pair's source, B = its target: GTA5 and Cityscapes by default; the paper's domains 1 and 2):

    netEc_A, netEc_B   E^c_1, E^c_2   content encoders: conv 7x7, stride-2 convs, residual blocks,
                                      instance norm: (B, 3, H, W) -> content code c (B, C, H/4, W/4)
    netEs_A, netEs_B   E^s_1, E^s_2   style encoders: conv 7x7, four stride-2 convs, no norm, global
                                      average pooling, conv 1x1: -> style code s (B, style_dim)
    netG_A, netG_B     G_1, G_2       decoders: residual blocks whose instance norms take their scale
                                      and shift from an MLP on s (AdaIN), upsamplings, conv 7x7 + tanh
    netD_A, netD_B     D_1, D_2       multi-scale LSGAN patch discriminators (UNIT's)

x_{1->2} = G_2(E^c_1(x_1), s_2) with s_2 ~ N(0, I) in training; the apply step draws s_2 per image,
takes it from a target training image, or uses the target images' mean code (``munit.apply.mode``).
The blocks shared with UNIT are ``stylenorm/translators/blocks.py``; the layer recipes and the
parameter counts are the authors' (NVlabs/MUNIT ``networks.py``: ``AdaINGen``, ``MsImageDis``).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from stylenorm.translators.base import TranslatorGenerator
from stylenorm.translators.blocks import ConvBlock, Encoder, activation_layer, upsampling_layers

STYLE_DOWNSAMPLE = 4  # stride-2 convs of the style encoder (fixed in the authors' AdaINGen)
MLP_BLOCKS = 3        # linear layers of the style MLP (fixed in the authors' AdaINGen)


def adain(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Adaptive instance norm: each sample's channels normalised over (H, W), then scaled by ``weight``
    and shifted by ``bias`` (B, C), which the style MLP produced for that sample."""
    return F.instance_norm(x, eps=eps) * weight[:, :, None, None] + bias[:, :, None, None]  # (B, C, H, W)


class StyleEncoder(nn.Sequential):
    """(B, 3, H, W) -> (B, style_dim): conv 7x7, two stride-2 convs doubling the width, two more at that
    width, global average pooling, conv 1x1. No normalisation: instance norm would remove the very
    statistics that carry the style."""

    def __init__(self, dim: int, style_dim: int, pad_type: str = "reflect", activation: str = "relu"):
        layers: list[nn.Module] = [ConvBlock(3, dim, 7, 1, 3, "none", activation, pad_type)]
        for i in range(STYLE_DOWNSAMPLE):
            out = 2 * dim if i < 2 else dim
            layers.append(ConvBlock(dim, out, 4, 2, 1, "none", activation, pad_type))
            dim = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, style_dim, 1), nn.Flatten(1)]
        super().__init__(*layers)


class StyleMLP(nn.Sequential):
    """Style code (B, style_dim) -> AdaIN parameters (B, n_out): ``MLP_BLOCKS`` linear layers."""

    def __init__(self, style_dim: int, n_out: int, dim: int, activation: str = "relu"):
        layers: list[nn.Module] = [nn.Linear(style_dim, dim), activation_layer(activation)]
        for _ in range(MLP_BLOCKS - 2):
            layers += [nn.Linear(dim, dim), activation_layer(activation)]
        layers.append(nn.Linear(dim, n_out))
        super().__init__(*layers)


class AdaINResBlock(nn.Module):
    """x + (conv 3x3, AdaIN, activation, conv 3x3, AdaIN)(x); its 4 * dim AdaIN parameters per sample
    are, in order, shift and scale of the first norm, then of the second (the authors' layout)."""

    def __init__(self, dim: int, pad_type: str = "reflect", activation: str = "relu"):
        super().__init__()
        self.conv1 = ConvBlock(dim, dim, 3, 1, 1, "none", "none", pad_type)
        self.conv2 = ConvBlock(dim, dim, 3, 1, 1, "none", "none", pad_type)
        self.act = activation_layer(activation)
        self.n_params = 4 * dim

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:  # (B, C, h, w), (B, 4C)
        bias1, weight1, bias2, weight2 = params.chunk(4, dim=1)
        h = self.act(adain(self.conv1(x), weight1, bias1))
        return x + adain(self.conv2(h), weight2, bias2)


class Decoder(nn.Module):
    """G: content code (B, dim, h, w) and style code (B, style_dim) -> image (B, 3, h * 2**n_up, w * 2**n_up)."""

    def __init__(self, dim: int, n_up: int, n_res: int, style_dim: int, mlp_dim: int, pad_type: str = "reflect",
                 activation: str = "relu"):
        super().__init__()
        self.res = nn.ModuleList(AdaINResBlock(dim, pad_type, activation) for _ in range(n_res))
        self.up = nn.Sequential(*upsampling_layers(dim, n_up, pad_type, activation))
        self.mlp = StyleMLP(style_dim, sum(b.n_params for b in self.res), mlp_dim, activation)

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        params = self.mlp(style).split([b.n_params for b in self.res], dim=1)  # one (B, 4C) slice per block
        x = content
        for block, p in zip(self.res, params):
            x = block(x, p)
        return self.up(x)


class MUNITGenerator(TranslatorGenerator):
    """E^c, E^s and G of both domains; one forward computes every image and code of a G step."""

    def __init__(self, dim: int, style_dim: int, n_down: int, n_res: int, mlp_dim: int, activation: str = "relu",
                 pad_type: str = "reflect"):
        super().__init__()
        self.n_downsample, self.style_dim = n_down, style_dim
        self.netEc_A = Encoder(dim, n_down, n_res, pad_type, activation)
        self.netEs_A = StyleEncoder(dim, style_dim, pad_type, activation)
        self.netG_A = Decoder(self.netEc_A.out_dim, n_down, n_res, style_dim, mlp_dim, pad_type, activation)
        self.netEc_B = Encoder(dim, n_down, n_res, pad_type, activation)
        self.netEs_B = StyleEncoder(dim, style_dim, pad_type, activation)
        self.netG_B = Decoder(self.netEc_B.out_dim, n_down, n_res, style_dim, mlp_dim, pad_type, activation)

    def encode(self, x: torch.Tensor, domain: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(content code (B, C, h, w), style code (B, style_dim)) of images of ``domain``."""
        return self.content(x, domain), self.style(x, domain)

    def content(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        return (self.netEc_A if domain == "A" else self.netEc_B)(x)

    def style(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        return (self.netEs_A if domain == "A" else self.netEs_B)(x)

    def decode(self, content: torch.Tensor, style: torch.Tensor, domain: str) -> torch.Tensor:
        return (self.netG_A if domain == "A" else self.netG_B)(content, style)

    def forward(self, real_A: torch.Tensor, real_B: torch.Tensor, generator: torch.Generator | None = None,
                cycle: bool = False) -> dict[str, torch.Tensor]:
        """Every image and code of one training step (names as in MUNIT's losses): styles s_A, s_B ~ N(0, I)
        from ``generator``, the codes of the real images, reconstructions, translations, the codes of the
        translations and, with ``cycle``, the style-augmented cycle images."""
        n = real_A.shape[0]
        kw = dict(generator=generator, device=real_A.device, dtype=real_A.dtype)
        s_A, s_B = torch.randn(n, self.style_dim, **kw), torch.randn(n, self.style_dim, **kw)  # (B, S): the prior's
        c_A, s_A_real = self.encode(real_A, "A")  # (B, C, h, w), (B, S)
        c_B, s_B_real = self.encode(real_B, "B")
        # Each decoder decodes its reconstruction and its translation in one batched call (instance and
        # layer norm keep per-sample statistics, so batching changes nothing).
        out_A = self.decode(torch.cat([c_A, c_B]), torch.cat([s_A_real, s_A]), "A")  # rec_A | fake_A = G_1(c_B, s_A)
        out_B = self.decode(torch.cat([c_B, c_A]), torch.cat([s_B_real, s_B]), "B")  # rec_B | fake_B = G_2(c_A, s_B)
        rec_A, fake_A, rec_B, fake_B = out_A[:n], out_A[n:], out_B[:n], out_B[n:]
        c_rec_B, s_rec_A = self.encode(fake_A, "A")  # fake_A's content is B's, its style the drawn s_A
        c_rec_A, s_rec_B = self.encode(fake_B, "B")
        out = {"s_A": s_A, "s_B": s_B, "c_A": c_A, "c_B": c_B, "rec_A": rec_A, "rec_B": rec_B, "fake_A": fake_A,
               "fake_B": fake_B, "c_rec_A": c_rec_A, "c_rec_B": c_rec_B, "s_rec_A": s_rec_A, "s_rec_B": s_rec_B}
        if cycle:  # x_{1->2->1}: A's content back through B, decoded with A's own style
            out.update(cyc_A=self.decode(c_rec_A, s_A_real, "A"), cyc_B=self.decode(c_rec_B, s_B_real, "B"))
        return out

    @torch.no_grad()
    def translate(self, x: torch.Tensor, source: str = "A", style: torch.Tensor | None = None) -> torch.Tensor:
        """Images of ``source`` decoded in the other domain with ``style`` (B, style_dim) or (1, style_dim),
        one code per image or one for all; ``None``: the zero code, the mean of the training prior."""
        if source not in ("A", "B"):
            raise ValueError(f"source must be 'A' or 'B', got {source!r}")
        target = "B" if source == "A" else "A"
        content = self.content(x, source)
        if style is None:
            style = torch.zeros(1, self.style_dim, device=x.device, dtype=x.dtype)
        style = style.to(device=x.device, dtype=content.dtype).expand(x.shape[0], -1)
        return self.decode(content, style, target)
