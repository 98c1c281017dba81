"""Reinhard colour transfer (Reinhard, Ashikhmin, Gooch & Shirley, "Color Transfer between
Images", 2001): shift and scale each channel of a source image in a perceptual colour space so
that its mean and standard deviation become a target reference's.

In CIE L*a*b* (scikit-image's ``color.rgb2lab`` / ``lab2rgb``, D65; the paper used its lαβ
space): ``out = (lab - mean_src) * std_ref / std_src + mean_ref`` per channel, then back to sRGB.
Before that conversion the Lab image has exactly the reference's per-channel mean and std
(``reinhard_lab``); ``lab2rgb`` then clips colours outside the sRGB gamut and the result is
rounded to uint8 (``reinhard_transfer``), which moves the statistics a little (tests bound it).
A source channel with zero spread stays flat, at the reference mean.

The reference (``reinhard.apply.reference``) is ``pair``: the statistics of the target *training*
image paired with the source from (seed, image id) (``_references.py``), or ``pooled``: those of
all target training pixels together. ``fit`` computes every training image's Lab pixel count, mean
and std once, per domain, and writes ``lab_stats_<domain>.npz`` (both domains: ``apply`` runs in
either direction); pooled statistics combine them exactly. ``apply`` reads that file from ``fit_dir`` and computes what it needs when it is absent.

Speed: Lab is a function of the RGB triple, and the transfer is per-channel affine in Lab, so
both conversions run once per *distinct colour* of an image and are gathered back to its pixels
(identical results; 5x fewer conversions on a textured full-size image with a fifth of its
pixels distinct), and in float32 (within 1e-4 Lab units of float64; statistics in float64).

Params (``reinhard.apply``): ``reference``. Reads the source PNGs and target training PNGs;
writes one PNG per source at its size.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from stylenorm.normalizers import _references as refs
from stylenorm.normalizers.base import Context, Normalizer, NoParams, register

def stats_file(domain: str) -> str:
    return f"lab_stats_{domain}.npz"


BATCH_SIZE = 8


@dataclass(frozen=True)
class ReinhardApply:
    reference: Literal["pair", "pooled"]  # [pair | pooled]: one paired target training image's Lab statistics, or all pooled


class LabStats(NamedTuple):
    pixels: int
    mean: np.ndarray  # (3,) L*, a*, b*
    std: np.ndarray  # (3,) population std


def _color():
    # Imported on use: the normalizers package imports every module, and a missing optional
    # dependency must not stop the other normalizers from loading.
    from skimage import color
    return color


def distinct_colours(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(colours (K, 3) uint8, inverse (H*W,) so that colours[inverse] is the image's pixels, counts (K,))."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) RGB image, got {image.dtype} {image.shape}")
    flat = image.reshape(-1, 3).astype(np.uint32)
    codes = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    unique, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    colours = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], axis=1).astype(np.uint8)
    return colours, inverse.reshape(-1), counts


def _rgb2lab(colours: np.ndarray) -> np.ndarray:
    # skimage converts float32 input in float32: 1.7x faster, within 1e-4 of float64 in Lab.
    lab = _color().rgb2lab(colours[None].astype(np.float32) / 255)[0]  # (K, 3)
    return lab.astype(np.float64)


def _weighted_stats(lab: np.ndarray, counts: np.ndarray) -> LabStats:
    n = int(counts.sum())
    mean = counts @ lab / n
    std = np.sqrt(counts @ (lab - mean) ** 2 / n)
    return LabStats(n, mean, std)


def lab_stats(image: np.ndarray) -> LabStats:
    """Per-channel Lab mean and (population) std over the pixels of a uint8 RGB image."""
    colours, _, counts = distinct_colours(image)
    return _weighted_stats(_rgb2lab(colours), counts)


def pool_stats(stats: list[LabStats]) -> LabStats:
    """The statistics of the union of the images' pixels, from each image's (exactly)."""
    n = np.array([s.pixels for s in stats], dtype=np.float64)
    means = np.stack([s.mean for s in stats])
    variances = np.stack([s.std for s in stats]) ** 2
    mean = n @ means / n.sum()
    var = n @ (variances + (means - mean) ** 2) / n.sum()
    return LabStats(int(n.sum()), mean, np.sqrt(var))


def _scale(src: LabStats, ref: LabStats) -> np.ndarray:
    return np.divide(ref.std, src.std, out=np.zeros(3), where=src.std > 0)


def _transfer_colours(image: np.ndarray, ref: LabStats):
    colours, inverse, counts = distinct_colours(image)
    lab = _rgb2lab(colours)
    src = _weighted_stats(lab, counts)
    return (lab - src.mean) * _scale(src, ref) + ref.mean, inverse


def reinhard_lab(src: np.ndarray, ref: LabStats) -> np.ndarray:
    """The transferred image in Lab before any clipping: float64 (H, W, 3) whose per-channel
    mean and std are ``ref``'s (exactly, up to float error; a flat source channel: mean only)."""
    lab, inverse = _transfer_colours(src, ref)
    return lab[inverse].reshape(src.shape)


def reinhard_transfer(src: np.ndarray, ref: LabStats) -> np.ndarray:
    """Reinhard transfer of a uint8 RGB image to ``ref``'s Lab statistics: uint8 RGB, colours
    outside the sRGB gamut clipped by ``lab2rgb``."""
    lab, inverse = _transfer_colours(src, ref)
    with warnings.catch_warnings():
        # lab2rgb warns when it clips a negative Z; clipping out-of-gamut colours is intended.
        warnings.filterwarnings("ignore", message="Color data out of range")
        rgb = _color().lab2rgb(lab[None].astype(np.float32))[0]
    colours = np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
    return colours[inverse].reshape(src.shape)


def _image_stats(path: Path) -> LabStats:
    return lab_stats(refs.read_rgb(path))


def _reinhard_batch(jobs: list[tuple[Path, LabStats, Path]]) -> int:
    for src_path, ref, dest in jobs:
        refs.write_png(dest, reinhard_transfer(refs.read_rgb(src_path), ref))
    return len(jobs)


def save_stats(path: Path, names: list[str], stats: list[LabStats]) -> None:
    np.savez(path, images=np.array(names), pixels=np.array([s.pixels for s in stats]),
             mean=np.stack([s.mean for s in stats]), std=np.stack([s.std for s in stats]))


def load_stats(path: Path) -> dict[str, LabStats]:
    saved = np.load(path)
    return {str(name): LabStats(int(n), m, s)
            for name, n, m, s in zip(saved["images"], saved["pixels"], saved["mean"], saved["std"])}


@register
class Reinhard(Normalizer):
    """Lab mean/std transfer to a paired or pooled target reference; nothing trained."""

    name = "reinhard"
    display_name = "Reinhard"
    Fit = NoParams
    Apply = ReinhardApply

    def fit(self, ctx: Context, out_dir: Path) -> dict:
        summary = {}
        for domain in sorted(ctx.train_images):
            references = refs.domain_references(ctx, domain)
            stats = refs.map_images(_image_stats, references, ctx.num_workers)
            save_stats(Path(out_dir) / stats_file(domain), [p.name for p in references], stats)
            pooled = pool_stats(stats)
            summary[domain] = {"reference_images": len(references), "pooled_mean": pooled.mean.round(3).tolist(),
                               "pooled_std": pooled.std.round(3).tolist()}
        return summary

    def reference_stats(self, ctx: Context, fit_dir: Path | None, needed: list[Path]) -> dict[str, LabStats]:
        """File name -> Lab statistics of each of ``needed`` (target training images): from
        ``fit``'s file when present, else computed."""
        path = Path(fit_dir) / stats_file(ctx.target_domain) if fit_dir else None
        if path is not None and path.exists():
            saved = load_stats(path)
            missing = sorted({p.name for p in needed} - set(saved))
            if missing:
                raise ValueError(f"{path} lacks {len(missing)} {ctx.target_domain} training image(s) "
                                 f"(e.g. {missing[0]}): it was fitted on other images; re-run fit")
            return {p.name: saved[p.name] for p in needed}
        unique = sorted(set(needed), key=lambda p: p.name)
        return {p.name: s for p, s in zip(unique, refs.map_images(_image_stats, unique, ctx.num_workers))}

    def apply(self, ctx: Context, fit_dir: Path, sources: list[Path], dests: list[Path]) -> dict:
        refs.check_sources(sources, dests)
        sources, dests = list(map(Path, sources)), list(map(Path, dests))
        references = refs.target_references(ctx)
        if self.apply_cfg.reference == "pooled":
            stats = self.reference_stats(ctx, fit_dir, references)
            pooled = pool_stats([stats[p.name] for p in references])
            targets = [pooled] * len(sources)
        else:
            pairs = refs.paired_references(sources, references, ctx.seed)
            stats = self.reference_stats(ctx, fit_dir, pairs)
            targets = [stats[p.name] for p in pairs]
        jobs = list(zip(sources, targets, dests))
        summary = refs.run_batches(_reinhard_batch, jobs, ctx.num_workers, BATCH_SIZE)
        return {**summary, "reference": self.apply_cfg.reference}
