"""How far GTA5 images are from the Cityscapes style, before and after translation.

Compares GTA5 images (raw: data/sampled/gta5; after each fitted normalizer but identity:
data/normalized/gta5-cityscapes/<normalizer>/seed<fit seed>/gta5) with the Cityscapes train images on simple
style statistics: per-channel mean and standard deviation, mean saturation, and the chi-squared
distance between joint colour histograms (8 bins per channel). Smaller is closer to Cityscapes.
Reads the outputs of ``dvc repro`` (the split and normalize stages).

Run: python scripts/style_gap.py [--split test] [--fit-seed 0]
"""
from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

from stylenorm import paths


def stats(files) -> dict:
    hist = np.zeros(512)
    means, stds, sats = [], [], []
    for f in files:
        x = np.asarray(Image.open(f).convert("RGB"), dtype=np.float32)
        means.append(x.mean(axis=(0, 1)))
        stds.append(x.std(axis=(0, 1)))
        sats.append((x.max(axis=2) - x.min(axis=2)).mean())
        q = (x // 32).astype(np.int64)
        hist += np.bincount((q[..., 0] * 64 + q[..., 1] * 8 + q[..., 2]).ravel(), minlength=512)
    return {"mean": np.mean(means, 0), "std": np.mean(stds, 0), "saturation": float(np.mean(sats)), "hist": hist / hist.sum()}


def chi2(p: np.ndarray, q: np.ndarray) -> float:
    return float(0.5 * np.sum((p - q) ** 2 / (p + q + 1e-12)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=["train", "val", "test"], help="which GTA5 images to compare")
    parser.add_argument("--fit-seed", type=int, default=0, help="which fitted normalizers' images (data/normalized/gta5-cityscapes/<name>/seed<k>)")
    args = parser.parse_args()
    ids = [p.stem for p in paths.split_image_paths("gta5", args.split)]
    ref = stats(paths.split_image_paths("cityscapes", "train"))
    rows = {"GTA5 raw": stats([paths.sampled_dir("gta5") / paths.IMAGES / f"{i}.png" for i in ids])}
    pair = ("gta5", "cityscapes")
    for folder in sorted(p for p in (paths.DATA_DIR / "normalized" / paths.pair_name(pair)).glob(f"*/seed{args.fit_seed}")
                         if p.parent.name != "identity"):
        name = folder.parent.name
        rows[f"GTA5 {name}"] = stats([paths.normalized_dir(name, pair, args.fit_seed, "gta5") / paths.IMAGES / f"{i}.png" for i in ids])
    print(f"GTA5 {args.split} images vs Cityscapes train images (RGB, 0-255)\n")
    print("| images | mean R, G, B | std R, G, B | saturation | colour-histogram chi2 to Cityscapes |")
    print("|---|---|---|---|---|")
    for name, s in [("Cityscapes (reference)", ref)] + list(rows.items()):
        dist = "0" if s is ref else f"{chi2(s['hist'], ref['hist']):.3f}"
        print(f"| {name} | {', '.join(f'{v:.0f}' for v in s['mean'])} | {', '.join(f'{v:.0f}' for v in s['std'])} "
              f"| {s['saturation']:.0f} | {dist} |")


if __name__ == "__main__":
    main()
