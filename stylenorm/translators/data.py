"""Unpaired training batches and image <-> tensor conversions for the translators.

Every batch is a pure function of (seed, rank, step): which images, where to crop and
whether to flip are drawn from an RNG keyed on them. A resumed run therefore sees
exactly the batches an uninterrupted one would, with no sampler state to save.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset


def resize_short_side(img: Image.Image, new_size: int, resample=Image.BICUBIC) -> Image.Image:
    """Shorter side to ``new_size``, the longer scaled and truncated as torchvision's Resize does."""
    w, h = img.size
    if w <= h:
        size = (new_size, int(new_size * h / w))
    else:
        size = (int(new_size * w / h), new_size)
    return img if size == img.size else img.resize(size, resample)


def to_tensor(img: Image.Image | np.ndarray) -> torch.Tensor:
    """uint8 HWC RGB -> float (3, H, W) in [-1, 1]."""
    x = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)
    return x.float().div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (3, H, W) or (B, 3, H, W) in [-1, 1] -> uint8 HWC (BHWC): clipped, no contrast stretch."""
    x = x.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(*range(x.dim() - 3), -2, -1, -3).cpu().numpy()


class UnpairedBatches(Dataset):
    """Item ``(step, k)``: the k-th pair (real_A, real_B) of training step ``step``."""

    def __init__(self, paths_A: list[Path], paths_B: list[Path], *, new_size: int, crop_size: int, seed: int, rank: int = 0,
                 cache: bool = False):
        if not paths_A or not paths_B:
            raise ValueError("both domains need at least one training image")
        self.paths = {"A": list(paths_A), "B": list(paths_B)}
        self.new_size, self.crop_size, self.seed, self.rank = new_size, crop_size, seed, rank
        self.cache: dict[Path, Image.Image] | None = {} if cache else None  # resized images, decoded once

    def __len__(self) -> int:  # nominal: items are addressed by (step, k)
        return max(len(p) for p in self.paths.values())

    def _load(self, domain: str, rng: np.random.Generator) -> torch.Tensor:
        path = self.paths[domain][rng.integers(len(self.paths[domain]))]
        img = self.cache.get(path) if self.cache is not None else None
        if img is None:
            img = resize_short_side(Image.open(path).convert("RGB"), self.new_size)
            if self.cache is not None:
                self.cache[path] = img
        w, h = img.size
        x0, y0 = rng.integers(w - self.crop_size + 1), rng.integers(h - self.crop_size + 1)
        img = img.crop((x0, y0, x0 + self.crop_size, y0 + self.crop_size))
        if rng.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return to_tensor(img)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        step, k = key
        rng = np.random.default_rng([self.seed, self.rank, step, k])
        return {"A": self._load("A", rng), "B": self._load("B", rng)}


def batch_loader(dataset: UnpairedBatches, *, start_step: int, steps: int, batch_size: int, num_workers: int) -> DataLoader:
    """Batches for steps ``start_step .. steps - 1`` in order."""
    batches = [[(step, k) for k in range(batch_size)] for step in range(start_step, steps)]
    return DataLoader(dataset, batch_sampler=batches, num_workers=num_workers,
                      persistent_workers=False, pin_memory=torch.cuda.is_available())
