"""The target-domain style code of every image MUNIT's apply step translates (``munit.apply.mode``).

Every code is a function of the fit seed (``ctx.seed``), the image id and, for ``reference`` and ``mean``,
the trained style encoder and the target domain's *training* images (no validation or test image
leaks into the style): the same image gets the same code whichever subset of images is translated.
Reference images are encoded whole, their shorter side resized to ``munit.apply.new_size``.
"""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from stylenorm.normalizers._references import image_rng, paired_references, target_references
from stylenorm.normalizers._translator import side
from stylenorm.normalizers.base import Context
from stylenorm.translators.data import resize_short_side, to_tensor


def random_code(source: Path, seed: int, style_dim: int) -> torch.Tensor:
    """A code from the training prior N(0, I), drawn from (seed, image id)."""
    return torch.from_numpy(image_rng(source, seed).standard_normal(style_dim)).float()  # (S,)


@torch.inference_mode()
def encode_styles(netG, images: list[Path], domain: str, *, new_size: int, batch_size: int,
                  device: torch.device) -> torch.Tensor:
    """Style codes (N, S) of ``images`` of ``domain`` ("A" or "B"), each resized to a ``new_size`` shorter side;
    images of one size are encoded together."""
    tensors = [to_tensor(resize_short_side(Image.open(p).convert("RGB"), new_size)) for p in images]
    codes: list[torch.Tensor | None] = [None] * len(images)
    by_size: dict[tuple[int, ...], list[int]] = {}
    for i, x in enumerate(tensors):
        by_size.setdefault(tuple(x.shape), []).append(i)
    for idx in by_size.values():
        for start in range(0, len(idx), batch_size):
            part = idx[start:start + batch_size]
            out = netG.style(torch.stack([tensors[i] for i in part]).to(device), domain).float().cpu()  # (b, S)
            for i, code in zip(part, out):
                codes[i] = code
    return torch.stack(codes)


def style_codes(netG, ctx: Context, sources: list[Path], *, mode: str, new_size: int, batch_size: int,
                device: torch.device) -> list[torch.Tensor]:
    """One (S,) code per source, in ``ctx.target_domain``'s style space."""
    if mode == "random":
        return [random_code(s, ctx.seed, netG.style_dim) for s in sources]
    target, references = side(ctx, ctx.target_domain), target_references(ctx)
    kw = dict(new_size=new_size, batch_size=batch_size, device=device)
    if mode == "reference":
        picks = paired_references(sources, references, ctx.seed)
        used = sorted(set(picks), key=lambda p: p.name)
        codes = dict(zip(used, encode_styles(netG, used, target, **kw)))
        return [codes[p] for p in picks]
    if mode == "mean":
        mean = encode_styles(netG, references, target, **kw).mean(dim=0)  # (S,)
        return [mean] * len(sources)
    raise ValueError(f"unknown style mode {mode!r}; expected random | reference | mean")
