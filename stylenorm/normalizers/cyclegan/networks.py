"""CycleGAN's networks as plain ``nn.Module``s (Zhu, Park, Isola & Efros, ICCV 2017).

Names map to the paper as follows (A = the pair's source, B = its target: GTA5 and Cityscapes by default; the paper's X = A, Y = B):

    netG_A   G   : A -> B   ResNet generator (``resnet_9blocks``)
    netG_B   F   : B -> A
    netD_A   D_Y        70x70 PatchGAN judging images of domain B (real_B vs fake_B = G(real_A))
    netD_B   D_X        judging images of domain A (real_A vs fake_A = F(real_B))

The layer recipes follow the authors' reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix):
reflection padding, instance norm without affine parameters, convolution biases only where the
norm does not learn its own shift, transposed convolutions for upsampling, N(0, 0.02) weights.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from stylenorm.translators.base import TranslatorGenerator


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``instance`` (per-sample, per-channel statistics, no affine), ``batch`` (affine, running stats) or ``none``."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; expected instance | batch | none")


def _bias(norm: str) -> bool:
    # BatchNorm's affine shift makes a conv bias redundant; the affine-free instance norm
    # would cancel it too, but the reference keeps it there, and so do we (parameter parity).
    return norm != "batch"


class ResnetBlock(nn.Module):
    """x + (pad, conv 3x3, norm, ReLU, pad, conv 3x3, norm)(x)."""

    def __init__(self, dim: int, norm: str = "instance"):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=_bias(norm)), norm_layer(norm, dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=_bias(norm)), norm_layer(norm, dim),
        )

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Sequential):
    """(B, 3, H, W) -> (B, 3, H, W) in [-1, 1]; H and W multiples of 4.

    conv 7x7 (ngf) -> two stride-2 convs (2ngf, 4ngf) -> ``n_blocks`` residual blocks at 4ngf
    -> two stride-2 transposed convs (2ngf, ngf) -> conv 7x7 (3) -> tanh.
    """

    def __init__(self, ngf: int = 64, n_blocks: int = 9, norm: str = "instance", n_down: int = 2):
        b = _bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=b), norm_layer(norm, ngf), nn.ReLU(True)]
        dim = ngf
        for _ in range(n_down):
            layers += [nn.Conv2d(dim, 2 * dim, 3, stride=2, padding=1, bias=b), norm_layer(norm, 2 * dim), nn.ReLU(True)]
            dim *= 2
        layers += [ResnetBlock(dim, norm) for _ in range(n_blocks)]
        for _ in range(n_down):
            layers += [nn.ConvTranspose2d(dim, dim // 2, 3, stride=2, padding=1, output_padding=1, bias=b),
                       norm_layer(norm, dim // 2), nn.ReLU(True)]
            dim //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(dim, 3, 7), nn.Tanh()]
        super().__init__(*layers)


class SeededDropout(nn.Module):
    """Dropout whose masks come from ``self.generator`` (a ``torch.Generator`` the model owns and
    checkpoints), so a resumed run draws the same masks; ``None`` falls back to the global RNG."""

    def __init__(self, p: float):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {p}")
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * keep / (1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class NLayerDiscriminator(nn.Sequential):
    """PatchGAN: (B, 3, H, W) -> (B, 1, h, w) raw scores (logits / critic values).

    conv 4x4/2 (ndf) + LeakyReLU, then ``n_layers - 1`` conv 4x4/2 + norm + LeakyReLU doubling the width
    (capped at 8 ndf), one conv 4x4/1 + norm + LeakyReLU and a conv 4x4/1 to one channel. With
    n_layers = 3 each output sees a 70x70 input patch. ``dropout`` (the second study's addition) follows
    every LeakyReLU but the first, i.e. it thins the features the deeper layers judge from.
    """

    def __init__(self, ndf: int = 64, n_layers: int = 3, norm: str = "instance", dropout: float = 0.0):
        b = _bias(norm)
        drop = (lambda: [SeededDropout(dropout)]) if dropout > 0 else (lambda: [])
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=b), norm_layer(norm, ndf * mult),
                       nn.LeakyReLU(0.2, True), *drop()]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        super().__init__(*layers)


class CycleGANGenerators(TranslatorGenerator):
    """netG_A (G: A -> B) and netG_B (F: B -> A) in one module, so one DDP wrapper syncs both."""

    def __init__(self, ngf: int = 64, n_blocks: int = 9, norm: str = "instance"):
        super().__init__()
        self.netG_A = ResnetGenerator(ngf, n_blocks, norm)
        self.netG_B = ResnetGenerator(ngf, n_blocks, norm)
        self.n_downsample = 2
        # Instance norm keeps every sample's statistics to itself, so two inputs of one generator can
        # share a batched call; batch norm's statistics would mix them, so it gets the reference's calls.
        self.batched = norm != "batch"

    def forward(self, real_A: torch.Tensor, real_B: torch.Tensor, identity: bool = True) -> dict[str, torch.Tensor]:
        """Every image of one training step: fake_B, rec_A, fake_A, rec_B and, with ``identity``, idt_A, idt_B."""
        n = real_A.shape[0]
        if self.batched and identity:
            out_A = self.netG_A(torch.cat([real_A, real_B]))  # (2B, 3, H, W): fake_B = G(real_A) | idt_A = G(real_B)
            out_B = self.netG_B(torch.cat([real_B, real_A]))  # (2B, 3, H, W): fake_A = F(real_B) | idt_B = F(real_A)
            out = {"fake_B": out_A[:n], "idt_A": out_A[n:], "fake_A": out_B[:n], "idt_B": out_B[n:]}
        else:
            out = {"fake_B": self.netG_A(real_A), "fake_A": self.netG_B(real_B)}  # (B, 3, H, W)
        out["rec_A"] = self.netG_B(out["fake_B"])  # F(G(real_A)) ~ real_A
        out["rec_B"] = self.netG_A(out["fake_A"])  # G(F(real_B)) ~ real_B
        if identity and "idt_A" not in out:
            out["idt_A"] = self.netG_A(real_B)  # G(real_B) ~ real_B: G should leave B images alone
            out["idt_B"] = self.netG_B(real_A)
        return out

    @torch.no_grad()
    def translate(self, x: torch.Tensor, source: str = "A") -> torch.Tensor:
        """Images of domain ``source`` in the other domain's style: netG_A for A -> B, netG_B for B -> A.

        Deterministic (the generators hold no noise or dropout); call ``.eval()`` first with batch norm."""
        if source not in ("A", "B"):
            raise ValueError(f"source must be 'A' or 'B', got {source!r}")
        return (self.netG_A if source == "A" else self.netG_B)(x)


class CycleGANDiscriminators(nn.Module):
    """netD_A (D_Y, judges domain-B images) and netD_B (D_X, judges domain-A images) in one module."""

    def __init__(self, ndf: int = 64, n_layers: int = 3, norm: str = "instance", dropout: float = 0.0):
        super().__init__()
        self.netD_A = NLayerDiscriminator(ndf, n_layers, norm, dropout)
        self.netD_B = NLayerDiscriminator(ndf, n_layers, norm, dropout)

    def forward(self, x_B: torch.Tensor, x_A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(netD_A(x_B), netD_B(x_A)): each (N, 1, h, w) patch scores."""
        return self.netD_A(x_B), self.netD_B(x_A)


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """The reference's ``normal`` init: conv weights N(0, std), biases 0, batch-norm scales N(1, std)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


class GANLoss:
    """The adversarial objectives on raw patch scores, and the decision threshold D's accuracy uses.

    lsgan   least squares toward 1 (real) / 0 (fake) (Mao et al.); threshold 0.5
    vanilla binary cross-entropy on logits (Goodfellow et al.); threshold 0 (sigmoid 0.5)
    wgangp  Wasserstein critic: D maximises mean(real) - mean(fake), G maximises mean(fake); pair it
            with a gradient penalty (gp_weight). The critic is shift invariant, so its threshold 0 is
            a convention: read its accuracy as a trend, not a probability.
    """

    def __init__(self, mode: str):
        if mode not in ("lsgan", "vanilla", "wgangp"):
            raise ValueError(f"unknown gan_mode {mode!r}; expected lsgan | vanilla | wgangp")
        self.mode = mode
        self.threshold = 0.5 if mode == "lsgan" else 0.0

    def __call__(self, pred: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        pred = pred.float()
        if self.mode == "lsgan":
            return torch.mean((pred - float(target_is_real)) ** 2)
        if self.mode == "vanilla":
            target = torch.ones_like(pred) if target_is_real else torch.zeros_like(pred)
            return F.binary_cross_entropy_with_logits(pred, target)
        return -pred.mean() if target_is_real else pred.mean()

    def accuracy(self, pred: torch.Tensor, is_real: bool) -> torch.Tensor:
        """Fraction of patch scores on the correct side of the threshold."""
        pred = pred.detach().float()
        return (pred > self.threshold).float().mean() if is_real else (pred <= self.threshold).float().mean()


def gradient_penalty(scores: list[torch.Tensor], inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """For each (scores, inputs) pair: mean over samples of (||d sum(scores) / d input||_2 - 1)^2, the
    two-sided penalty of Gulrajani et al., differentiable (create_graph) so D's loss can include it.

    A score may depend on its own sample only (true for a PatchGAN with instance norm or none, and
    for discriminators with disjoint weights), so one gradient call yields every per-sample gradient."""
    total = sum(s.float().sum() for s in scores)
    grads = torch.autograd.grad(total, inputs, create_graph=True)
    # the 1e-16 keeps the norm's own gradient finite where a gradient vanishes
    return [((g.float().flatten(1) + 1e-16).norm(2, dim=1) - 1.0).pow(2).mean() for g in grads]
