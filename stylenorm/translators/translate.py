"""Translate images with a trained generator, at a working size or at full resolution.

The study's geometry (``align: stretch``): resize the shorter side to ``new_size`` (GTA5's
1914x1052 -> 931x512), encode with the source encoder, decode with the target generator (two
stride-2 convolutions floor 931 -> 465 -> 232, two 2x upsamplings give 928x512), then resize
back to the source size (bicubic in the study). Stretching 928 columns over 1914 moves content
by up to ~6 source pixels at the right edge: the "misalignments" the study saw.
``align: pad`` reflect-pads the resized image to a multiple of 2**n_downsample (931 -> 932),
translates, crops back to the exact resized size (931x512) and only then resizes to the
source size, so content stays where its label is (within the resampling's own blur).
``full_resolution`` runs the fully convolutional network on the source size itself, padded
the same way, so nothing is resampled.

``netG.translate(x, source)`` is the one thing asked of a generator. A multimodal translator
also takes a style code per image, ``netG.translate(x, source, style=...)``: ``translate_files``
passes ``styles`` (one code per source, from the normalizer's ``style_codes``) when given.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from stylenorm.translators.data import resize_short_side, to_tensor, to_uint8

_RESAMPLE = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}


@torch.inference_mode()
def translate_batch(netG, images: list[Image.Image], *, new_size: int, upsample: str, full_resolution: bool,
                    device: torch.device, n_down: int, source: str = "A", precision: str = "fp32",
                    align: str = "stretch", style: torch.Tensor | None = None) -> list[Image.Image]:
    """Translate same-size images together; returns PIL images (source size unless upsample='none').
    ``style``: (B, S) codes for a multimodal generator, one per image; None: ``translate(x, source)``."""
    size = images[0].size
    if any(img.size != size for img in images):
        raise ValueError("translate_batch takes images of one size")
    if align not in ("stretch", "pad"):
        raise ValueError(f"align must be 'stretch' or 'pad', got {align!r}")
    inputs = images if full_resolution else [resize_short_side(img, new_size) for img in images]
    x = torch.stack([to_tensor(img) for img in inputs]).to(device)  # (B, 3, h, w)
    h, w = x.shape[-2:]
    pad = full_resolution or align == "pad"
    if pad:
        m = 2 ** n_down
        x = F.pad(x, (0, (-w) % m, 0, (-h) % m), mode="reflect")  # (B, 3, ceil_m(h), ceil_m(w))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
    with autocast:
        y = netG.translate(x, source) if style is None else netG.translate(x, source, style=style.to(device))
    y = y.float()  # (B, 3, h', w')
    if pad:
        y = y[..., :h, :w]  # (B, 3, h, w): exactly the resized input's grid
    out = [Image.fromarray(a) for a in to_uint8(y)]
    if full_resolution or upsample == "none":
        return out
    return [o.resize(size, _RESAMPLE[upsample]) for o in out]


def translate_files(netG, sources: list[Path], dests: list[Path], *, new_size: int, upsample: str, full_resolution: bool,
                    batch_size: int, device: torch.device, n_down: int, precision: str = "fp32", align: str = "stretch",
                    source: str = "A", styles: list[torch.Tensor] | None = None) -> dict:
    """Translate every source image into its destination path; returns throughput figures. ``styles``: one
    style code per source for a multimodal generator (``translate_batch``'s ``style``), or None."""
    if styles is not None and len(styles) != len(sources):
        raise ValueError(f"{len(sources)} sources but {len(styles)} style codes")
    start, pixels = time.perf_counter(), 0
    pending: list[tuple[Image.Image, Path, torch.Tensor | None]] = []

    def flush():
        nonlocal pixels
        style = None if styles is None else torch.stack([code for _, _, code in pending])  # (B, S)
        outs = translate_batch(netG, [img for img, _, _ in pending], new_size=new_size, upsample=upsample,
                               full_resolution=full_resolution, device=device, n_down=n_down, precision=precision,
                               align=align, source=source, style=style)
        for out, (_, dest, _) in zip(outs, pending):
            out.save(dest)
            pixels += out.size[0] * out.size[1]
        pending.clear()

    codes = styles if styles is not None else [None] * len(sources)
    for src, dest, code in tqdm(list(zip(sources, dests, codes)), desc="translate", unit="img", mininterval=2.0):
        img = Image.open(src).convert("RGB")
        if pending and (len(pending) == batch_size or pending[0][0].size != img.size):
            flush()
        pending.append((img, dest, code))
    if pending:
        flush()
    seconds = time.perf_counter() - start
    return {"images": len(sources), "seconds": round(seconds, 2), "images_per_second": round(len(sources) / max(seconds, 1e-9), 2)}
