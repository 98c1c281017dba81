"""FDA, Fourier Domain Adaptation (Yang & Soatto, CVPR 2020): a source image keeps its phase
spectrum and takes the low-frequency part of a target image's amplitude spectrum.

Per colour channel, on raw 0-255 values (the authors: "use the original images for FDA, then do
mean subtraction"): ``X = FFT(source)``, ``R = FFT(reference)``; inside the window
``|u| <= b, |v| <= b`` of frequencies around zero, with ``b = floor(beta * min(H, W))``,
``X <- |R| * exp(i * angle(X))``; the output is ``IFFT(X)`` clipped to [0, 255] and rounded.
This is the authors' numpy reference ``FDA_source_to_target_np`` (``fftshift``, window rows and
columns ``c - b .. c + b``) with two documented differences:

* ``beta = 0`` swaps nothing (their code still swaps the zero-frequency term, the mean);
* a window wider than the spectrum covers all of it (``beta`` large enough that
  ``b >= max(H, W) / 2``: the output has the reference's whole amplitude spectrum), where their
  slicing would wrap around.

(Their torch ``FDA_source_to_target``, used in training, swaps the unshifted corners ``0 .. b-1``:
frequencies ``-b .. b-1``, a window one frequency narrower and not symmetric.) Unlike their
training code, the result is clipped to the valid range, as PNG outputs must be.

The window is symmetric about zero, so the new spectrum stays Hermitian and the output is real
without dropping an imaginary part. Since only the window changes, the output is computed as
``source + IFFT(change)``, with real FFTs along the width and full ones only over the window's
``b + 1`` columns: half the transforms of the textbook ``ifft2(fft2)`` round trip, same result.
Float32 throughout, with ``scipy.fft``: a real FFT along the width of a full-size GTA5 image took
85 ms here against 208 ms with ``numpy.fft``.

Each source image is paired with one target-domain *training* image drawn from (seed, image id)
(``_references.py``); a reference of another size is resized (bilinear) to the source's size
first, stretching it where the aspect ratios differ (Cityscapes 2:1, GTA5 1914x1052), as the
spectra must be of the same size to swap.

Params (``fda.apply``): ``beta``. Nothing is fitted. Reads the source PNGs and the paired target
training PNGs; writes one PNG per source at its size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from scipy import fft

from stylenorm.config import ConfigError
from stylenorm.normalizers import _references as refs
from stylenorm.normalizers.base import Context, Normalizer, NoParams, register

BATCH_SIZE = 4  # images per batched FFT in one process (memory: ~25 MB per full-size GTA5 image)


@dataclass(frozen=True)
class FDAApply:
    beta: float  # window half-side as a fraction of the shorter image side [>= 0]; the paper: 0.01 | 0.05 | 0.09

    def __post_init__(self):
        if not (math.isfinite(self.beta) and self.beta >= 0):
            raise ConfigError(f"fda.apply.beta: must be a finite number >= 0, got {self.beta!r}")


def window_half_size(height: int, width: int, beta: float) -> int:
    """``b``: the window spans frequencies ``-b .. b`` on both axes; -1 means no window."""
    return -1 if beta == 0 else math.floor(beta * min(height, width))


def fda_swap_amplitude(src: np.ndarray, ref: np.ndarray, beta: float) -> np.ndarray:
    """FDA before clipping: float32 of ``src``'s shape, (H, W, C) or a batch (B, H, W, C).
    ``src`` and ``ref`` are 0-255 values of the same shape."""
    src = np.asarray(src, dtype=np.float32)
    ref = np.asarray(ref, dtype=np.float32)
    if src.shape != ref.shape:
        raise ValueError(f"source {src.shape} and reference {ref.shape} differ in shape; resize the reference first")
    single = src.ndim == 3
    if single:
        src, ref = src[None], ref[None]
    if src.ndim != 4:
        raise ValueError(f"expected (H, W, C) or (B, H, W, C) images, got shape {src.shape}")
    height, width = src.shape[1:3]
    b = window_half_size(height, width, beta)
    if b < 0:
        return src[0].copy() if single else src.copy()
    n_cols = min(b, width // 2) + 1  # columns 0..b of the half (real-FFT) spectrum
    freq_rows = np.fft.fftfreq(height, 1.0 / height)  # row index -> signed frequency
    in_rows = (np.abs(freq_rows) <= b)[None, :, None, None]

    # Window coefficients only: real FFT along the width, then a full FFT along the height of
    # the first n_cols columns.                                        # (B, H, n_cols, C)
    spec_src = fft.fft(fft.rfft(src, axis=2)[:, :, :n_cols], axis=1)
    spec_ref = fft.fft(fft.rfft(ref, axis=2)[:, :, :n_cols], axis=1)
    swapped = np.abs(spec_ref) * np.exp(1j * np.angle(spec_src)).astype(np.complex64)
    change = np.where(in_rows, swapped - spec_src, 0)
    half = np.zeros((*src.shape[:2], width // 2 + 1, src.shape[3]), dtype=np.complex64)
    half[:, :, :n_cols] = fft.ifft(change, axis=1)
    out = src + fft.irfft(half, n=width, axis=2)
    return out[0] if single else out


def fda_transfer(src: np.ndarray, ref: np.ndarray, beta: float) -> np.ndarray:
    """FDA of uint8 images (one or a batch, same shapes), clipped to [0, 255] and rounded: uint8."""
    return np.clip(np.rint(fda_swap_amplitude(src, ref, beta)), 0, 255).astype(np.uint8)


def _fda_batch(jobs: list[tuple[Path, Path, Path]], beta: float) -> int:
    """Read, transfer and write one batch of (source, reference, dest); sources of one size go
    through one batched FFT."""
    by_shape: dict[tuple, list] = {}
    for src_path, ref_path, dest in jobs:
        src = refs.read_rgb(src_path)
        ref = refs.resize_rgb(refs.read_rgb(ref_path), *src.shape[:2])
        by_shape.setdefault(src.shape, []).append((src, ref, dest))
    for group in by_shape.values():
        out = fda_transfer(np.stack([s for s, _, _ in group]), np.stack([r for _, r, _ in group]), beta)
        for image, (_, _, dest) in zip(out, group):
            refs.write_png(dest, image)
    return len(jobs)


@register
class FDA(Normalizer):
    """Fourier Domain Adaptation; training-free (``fit`` writes nothing)."""

    name = "fda"
    display_name = "FDA"
    Fit = NoParams
    Apply = FDAApply

    def apply(self, ctx: Context, fit_dir: Path, sources: list[Path], dests: list[Path]) -> dict:
        refs.check_sources(sources, dests)
        pairs = refs.paired_references(sources, refs.target_references(ctx), ctx.seed)
        jobs = list(zip(map(Path, sources), pairs, map(Path, dests)))
        summary = refs.run_batches(partial(_fda_batch, beta=self.apply_cfg.beta), jobs, ctx.num_workers, BATCH_SIZE)
        return {**summary, "beta": self.apply_cfg.beta}
