"""Histogram matching: each colour channel of a source image is mapped so that its cumulative
histogram (CDF) matches a target-domain reference's, with scikit-image's
``exposure.match_histograms``.

Two references (``histmatch.apply.reference``):

* ``pair``: the target *training* image paired with the source from (seed, image id)
  (``_references.py``); its size does not matter, only its histogram.
* ``pooled``: the pooled per-channel histogram of all target training images. skimage takes a
  reference *image*, and for uint8 data it uses only the reference's histogram, so the pooled
  histogram is turned into a small stand-in image: per channel, ``POOLED_TEMPLATE_SIZE``
  values at the pooled distribution's quantiles ``(k + 0.5) / N`` (its inverse CDF). Its CDF is
  the pooled CDF within ``1 / N`` at every level, and it is built once per apply, so matching
  against it costs the same as against one small image. Channels are matched independently, so
  pairing the channels' quantiles in one stand-in pixel loses nothing.

``fit`` computes the pooled histogram (256 x 3 pixel counts) of each domain's training images once
and writes it to ``histogram_<domain>.npz`` (both domains: ``apply`` runs in either direction);
``apply`` reads the target's from ``fit_dir`` and computes it itself when the file is absent, so it
also runs where no fit stage did.

skimage's ``match_histograms(image, reference, channel_axis=-1)`` writes its float matches into
an array of the image's dtype, which for uint8 truncates (all values up to one level low, half a
level on average). We call it per channel, on single-channel arrays (the same computation,
returning floats), and round.

Params (``histmatch.apply``): ``reference``. Reads the source PNGs and target training PNGs;
writes one PNG per source at its size.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np

from stylenorm.normalizers import _references as refs
from stylenorm.normalizers.base import Context, Normalizer, NoParams, register

def histogram_file(domain: str) -> str:
    return f"histogram_{domain}.npz"


POOLED_TEMPLATE_SIZE = 1 << 16  # values per channel of the pooled stand-in reference: CDF within 1.5e-5
BATCH_SIZE = 8


@dataclass(frozen=True)
class HistMatchApply:
    reference: Literal["pair", "pooled"]  # [pair | pooled]: one paired target training image, or all of them pooled


def _match_histograms(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    # Imported here, not at the top: the normalizers package imports every module, and a
    # missing optional dependency must not stop the other normalizers from loading.
    from skimage import exposure
    return exposure.match_histograms(image, reference)


def histmatch_transfer(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Match each channel of uint8 ``src`` (H, W, C) to uint8 ``ref`` (any H', W', same C): uint8."""
    if src.dtype != np.uint8 or ref.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {src.dtype} and {ref.dtype}")
    if src.ndim != 3 or ref.ndim != 3 or src.shape[-1] != ref.shape[-1]:
        raise ValueError(f"expected (H, W, C) images with as many channels, got {src.shape} and {ref.shape}")
    out = np.empty_like(src)
    for c in range(src.shape[-1]):
        out[..., c] = np.clip(np.rint(_match_histograms(src[..., c], ref[..., c])), 0, 255)
    return out


def channel_histograms(image: np.ndarray) -> np.ndarray:
    """Pixel counts per level and channel of a uint8 (H, W, C) image: (256, C) int64."""
    flat = image.reshape(-1, image.shape[-1])
    return np.stack([np.bincount(flat[:, c], minlength=256) for c in range(flat.shape[1])], axis=1)


def pooled_template(counts: np.ndarray, size: int = POOLED_TEMPLATE_SIZE) -> np.ndarray:
    """A (size, 1, C) uint8 stand-in image whose per-channel CDF is that of ``counts`` (256, C)
    within ``1 / size``: the distribution's values at quantiles (k + 0.5) / size."""
    counts = np.asarray(counts, dtype=np.float64)
    quantiles = (np.arange(size) + 0.5) / size
    columns = []
    for c in range(counts.shape[1]):
        cdf = np.cumsum(counts[:, c]) / counts[:, c].sum()
        columns.append(np.searchsorted(cdf, quantiles, side="left").clip(0, 255))
    return np.stack(columns, axis=1).astype(np.uint8)[:, None, :]


def _image_histogram(path: Path) -> np.ndarray:
    return channel_histograms(refs.read_rgb(path))


def pooled_histogram(paths: list[Path], workers: int) -> np.ndarray:
    """The summed (256, 3) histogram of ``paths``."""
    return np.sum(refs.map_images(_image_histogram, paths, workers), axis=0)


def _histmatch_batch(jobs: list[tuple[Path, Path | None, Path]], template: np.ndarray | None) -> int:
    for src_path, ref_path, dest in jobs:
        ref = template if ref_path is None else refs.read_rgb(ref_path)
        refs.write_png(dest, histmatch_transfer(refs.read_rgb(src_path), ref))
    return len(jobs)


@register
class HistMatch(Normalizer):
    """Per-channel histogram matching to a paired or pooled target reference; nothing trained."""

    name = "histmatch"
    display_name = "histogram matching"
    Fit = NoParams
    Apply = HistMatchApply

    def fit(self, ctx: Context, out_dir: Path) -> dict:
        summary = {}
        for domain in sorted(ctx.train_images):
            references = refs.domain_references(ctx, domain)
            counts = pooled_histogram(references, ctx.num_workers)
            np.savez(Path(out_dir) / histogram_file(domain), counts=counts, images=np.array([p.name for p in references]))
            summary[domain] = {"reference_images": len(references), "pixels": int(counts[:, 0].sum())}
        return summary

    def pooled_counts(self, ctx: Context, fit_dir: Path | None) -> np.ndarray:
        """The pooled histogram: ``fit``'s file when present (and of these images), else computed."""
        references = refs.target_references(ctx)
        path = Path(fit_dir) / histogram_file(ctx.target_domain) if fit_dir else None
        if path is not None and path.exists():
            saved = np.load(path)
            if list(saved["images"]) != [p.name for p in references]:
                raise ValueError(f"{path} was fitted on other {ctx.target_domain} training images; re-run fit")
            return saved["counts"]
        return pooled_histogram(references, ctx.num_workers)

    def apply(self, ctx: Context, fit_dir: Path, sources: list[Path], dests: list[Path]) -> dict:
        refs.check_sources(sources, dests)
        sources, dests = list(map(Path, sources)), list(map(Path, dests))
        if self.apply_cfg.reference == "pooled":
            template = pooled_template(self.pooled_counts(ctx, fit_dir))
            pairs = [None] * len(sources)
        else:
            template = None
            pairs = refs.paired_references(sources, refs.target_references(ctx), ctx.seed)
        jobs = list(zip(sources, pairs, dests))
        summary = refs.run_batches(partial(_histmatch_batch, template=template), jobs, ctx.num_workers, BATCH_SIZE)
        return {**summary, "reference": self.apply_cfg.reference}
