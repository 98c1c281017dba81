"""Network blocks the translators of the UNIT family share (UNIT and MUNIT, whose authors' code
builds both from the same ``networks.py``): padded convolutions, residual blocks, the content
encoder, the upsampling tail of the generators, multi-scale LSGAN patch discriminators, the LSGAN
loss and the weight init. Plain ``nn.Module``s and factories; a translator's own ``networks.py``
composes them (``stylenorm/normalizers/unit/``, ``stylenorm/normalizers/munit/``).

Recipes as in the authors' code (mingyuliutw/UNIT, NVlabs/MUNIT): convolutions with biases,
reflection or zero padding, instance norm without affine parameters in encoders, a per-sample
layer norm over (C, H, W) with a per-channel affine in the upsampling layers (``GroupNorm(1, C)``:
the authors' ``LayerNorm`` divides by the unbiased std + eps instead of sqrt(var + eps), and draws
its scale from U(0, 1) instead of 1; the same number of parameters).
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "in":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "ln":  # layer norm over (C, H, W) with a per-channel affine, as the authors' decoders use
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}")


def activation_layer(kind: str) -> nn.Module:
    return {"relu": nn.ReLU(inplace=True), "lrelu": nn.LeakyReLU(0.2, inplace=True),
            "tanh": nn.Tanh(), "none": nn.Identity()}[kind]


class ConvBlock(nn.Sequential):
    """pad -> conv -> norm -> activation."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int,
                 norm: str = "none", activation: str = "relu", pad_type: str = "reflect"):
        pad = nn.ReflectionPad2d(padding) if pad_type == "reflect" else nn.ZeroPad2d(padding)
        super().__init__(pad, nn.Conv2d(cin, cout, kernel, stride, bias=True), norm_layer(norm, cout), activation_layer(activation))


class ResBlock(nn.Module):
    def __init__(self, dim: int, norm: str = "in", pad_type: str = "reflect", activation: str = "relu"):
        super().__init__()
        self.body = nn.Sequential(ConvBlock(dim, dim, 3, 1, 1, norm, activation, pad_type),
                                  ConvBlock(dim, dim, 3, 1, 1, norm, "none", pad_type))

    def forward(self, x):
        return x + self.body(x)


def res_blocks(n: int, dim: int, norm: str = "in", pad_type: str = "reflect", activation: str = "relu") -> nn.Sequential:
    return nn.Sequential(*[ResBlock(dim, norm, pad_type, activation) for _ in range(n)])


class Encoder(nn.Module):
    """(B, 3, H, W) -> (B, dim * 2**n_down, H / 2**n_down, W / 2**n_down): conv 7x7, ``n_down`` stride-2
    convs, ``n_res`` residual blocks, all instance-normed (UNIT's private encoder part, MUNIT's content encoder)."""

    def __init__(self, dim: int, n_down: int, n_res: int, pad_type: str = "reflect", activation: str = "relu"):
        super().__init__()
        layers = [ConvBlock(3, dim, 7, 1, 3, "in", activation, pad_type)]
        for _ in range(n_down):
            layers.append(ConvBlock(dim, 2 * dim, 4, 2, 1, "in", activation, pad_type))
            dim *= 2
        layers.append(res_blocks(n_res, dim, "in", pad_type, activation))
        self.model = nn.Sequential(*layers)
        self.out_dim = dim

    def forward(self, x):
        return self.model(x)


def upsampling_layers(dim: int, n_up: int, pad_type: str = "reflect", activation: str = "relu") -> list[nn.Module]:
    """A generator's tail: ``n_up`` x (2x nearest upsampling, conv 5x5 halving the channels, layer norm),
    then conv 7x7 to RGB and tanh: (B, dim, h, w) -> (B, 3, h * 2**n_up, w * 2**n_up) in [-1, 1]."""
    layers: list[nn.Module] = []
    for _ in range(n_up):
        layers += [nn.Upsample(scale_factor=2, mode="nearest"), ConvBlock(dim, dim // 2, 5, 1, 2, "ln", activation, pad_type)]
        dim //= 2
    layers.append(ConvBlock(dim, 3, 7, 1, 3, "none", "tanh", pad_type))
    return layers


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


class MultiScaleDiscriminatorPair(nn.Module):
    """D1 (judges domain A) and D2 (domain B) in one module, so one DDP wrapper syncs both."""

    def __init__(self, dim: int, n_layer: int, num_scales: int, pad_type: str = "reflect"):
        super().__init__()
        self.netD_A = MultiScaleDiscriminator(dim, n_layer, num_scales, pad_type)
        self.netD_B = MultiScaleDiscriminator(dim, n_layer, num_scales, pad_type)

    def forward(self, x_A: torch.Tensor, x_B: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        return self.netD_A(x_A), self.netD_B(x_B)


def lsgan_loss(outputs: list[torch.Tensor], target: float) -> torch.Tensor:
    """Least-squares GAN loss summed over scales."""
    return sum(torch.mean((o.float() - target) ** 2) for o in outputs)


def lsgan_discriminator_losses(trainD: nn.Module, fake_A: torch.Tensor, real_A: torch.Tensor, fake_B: torch.Tensor,
                               real_B: torch.Tensor, autocast=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The LSGAN losses of a ``MultiScaleDiscriminatorPair`` (D_A judges A images, D_B B images): fakes
    (detached here) toward 0, reals toward 1. Fakes and reals go through each D in one batch, one forward
    (D has no batch statistics); ``autocast`` (a context manager) wraps that forward."""
    n = real_A.shape[0]
    with autocast or contextlib.nullcontext():
        out_A, out_B = trainD(torch.cat([fake_A.detach(), real_A]), torch.cat([fake_B.detach(), real_B]))
    loss_A = lsgan_loss([x[:n] for x in out_A], 0.0) + lsgan_loss([x[n:] for x in out_A], 1.0)
    loss_B = lsgan_loss([x[:n] for x in out_B], 0.0) + lsgan_loss([x[n:] for x in out_B], 1.0)
    return loss_A, loss_B


def init_weights(module: nn.Module, kind: str) -> None:
    """``kaiming`` (generators, as the authors) or ``gaussian`` N(0, 0.02) (discriminators), on every
    convolution and linear layer (the authors' ``weights_init``); biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if kind == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            else:
                nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
