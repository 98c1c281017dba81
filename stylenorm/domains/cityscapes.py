"""Cityscapes (Cordts et al. 2016): real street scenes from 50 German cities, 2048x1024.

Layout: ``leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png`` + ``gtFine/{split}/{city}/
{stem}_gtFine_labelIds.png`` (grayscale, pixel = Cityscapes label id), archives
``leftImg8bit_trainvaltest.zip`` and ``gtFine_trainvaltest.zip``. Test labels are not public, so
only ``train`` and ``val`` frames are used.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from stylenorm.datasets import DatasetError, Inventory, Pair
from stylenorm.domains.base import Domain, Source, register
from stylenorm.labels import cityscapes_palette_bytes
from stylenorm.synthetic import scaled, scene, write_pool

NATIVE_SIZE = (2048, 1024)
TRAIN_CITIES = ("aachen", "bochum", "bremen", "cologne", "darmstadt", "dusseldorf", "erfurt", "hamburg")
VAL_CITIES = ("frankfurt", "lindau", "munster")
VAL_FRACTION = 0.15  # of the embedded pool's scenes named as val-city frames
_IMAGE_RE = re.compile(r"(?:^|/)leftImg8bit/(train|val|test)/([^/]+)/(\2_\d{6}_\d{6})_leftImg8bit\.png$")


@dataclass(frozen=True)
class CityscapesSource(Source):
    base_url: str  # with `download`: the Cityscapes site (or a mirror); credentials from the environment


def label_path(prefix: str, split: str, city: str, stem: str) -> str:
    """Where a frame's gtFine label ids lie (Cityscapes and Foggy Cityscapes share them)."""
    return f"{prefix}gtFine/{split}/{city}/{stem}_gtFine_labelIds.png"


def find_pairs(tree, splits: tuple[str, ...] = ("train", "val")) -> Inventory:
    files = tree.list()
    present = set(files)
    pairs, orphans = [], []
    for rel in files:
        m = _IMAGE_RE.search(rel)
        if not m or m.group(1) not in splits:
            continue
        split, city, stem = m.groups()
        prefix = rel[: m.start(0) + (1 if rel[m.start(0)] == "/" else 0)]
        label = label_path(prefix, split, city, stem)
        if label in present:
            pairs.append(Pair(stem, rel, label))
        else:
            orphans.append(stem)
    if not pairs:
        raise DatasetError(
            f"{tree.origin('')}: no Cityscapes pairs "
            "(expected leftImg8bit/{train,val}/CITY/*_leftImg8bit.png with gtFine/.../*_gtFine_labelIds.png)")
    labels = {PurePosixPath(r).name.replace("_gtFine_labelIds.png", "") for r in files if r.endswith("_gtFine_labelIds.png")}
    return Inventory(pairs=pairs, images_without_label=orphans,
                     labels_without_image=sorted(labels - {p.id for p in pairs}))


def frame_name(index: int) -> tuple[str, str, str]:
    """(split, city, stem) of pool scene ``index`` in Cityscapes' naming."""
    quirk = np.random.default_rng([index, 7])
    if quirk.random() < VAL_FRACTION:
        split, city = "val", VAL_CITIES[index % len(VAL_CITIES)]
    else:
        split, city = "train", TRAIN_CITIES[index % len(TRAIN_CITIES)]
    return split, city, f"{city}_{index:06d}_000019"


def write_label(root: Path, index: int, label_ids: np.ndarray) -> None:
    """A frame's gtFine label ids and colour map, as the real set ships them."""
    split, city, stem = frame_name(index)
    gt_dir = root / "gtFine" / split / city
    gt_dir.mkdir(parents=True, exist_ok=True)
    Image.fromarray(label_ids, mode="L").save(gt_dir / f"{stem}_gtFine_labelIds.png")
    colour = Image.fromarray(label_ids, mode="L").convert("P")
    colour.putpalette(cityscapes_palette_bytes())
    colour.convert("RGBA").save(gt_dir / f"{stem}_gtFine_color.png")


def _one(index: int, *, root: Path, seed: int, size) -> int:
    split, city, stem = frame_name(index)
    image, label_ids = scene(seed, "cityscapes", index, *size, style="real")
    img_dir = root / "leftImg8bit" / split / city
    img_dir.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(img_dir / f"{stem}_leftImg8bit.png")
    write_label(root, index, label_ids)
    return 1


def write_tree(root: Path, *, n: int, seed: int, scale: float, workers: int = 1, progress=None) -> int:
    """Write ``leftImg8bit/{split}/{city}/...`` and ``gtFine/...`` (labelIds + color) for n scenes."""
    return write_pool(partial(_one, root=Path(root), seed=seed, size=scaled(NATIVE_SIZE, scale)), range(n), workers, progress)


@register
class Cityscapes(Domain):
    name = "cityscapes"
    display_name = "Cityscapes"
    native_size = NATIVE_SIZE
    stream = 1
    Params = CityscapesSource

    def find_pairs(self, tree) -> Inventory:
        return find_pairs(tree)

    def write_synthetic(self, root, *, n, seed, synthetic, workers=1, progress=None) -> int:
        return write_tree(root, n=n, seed=seed, scale=synthetic.scale, workers=workers, progress=progress)

    def open_download(self, cache, on_bytes, on_wait):
        from stylenorm import remote
        from stylenorm.datasets import ZipTree
        return ZipTree(remote.download_cityscapes(cache, self.cfg.base_url))
