"""GTA5 (Richter et al. 2016, "Playing for Data"): 24,966 frames of Grand Theft Auto V, 1914x1052.

Layout: ``images/{id:05d}.png`` + ``labels/{id:05d}.png`` (palette PNG, palette index = Cityscapes
label id), archives ``01_images.zip`` ... ``10_labels.zip``. Some ids are missing; some files have
no partner; a few labels are a few pixels off their image's size (``unify_labels.size_mismatch``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from stylenorm.datasets import DatasetError, Inventory, Pair
from stylenorm.domains.base import Domain, Source, register
from stylenorm.labels import cityscapes_palette_bytes
from stylenorm.synthetic import scaled, scene, write_pool

NATIVE_SIZE = (1914, 1052)
_RE = re.compile(r"(?:^|/)(images|labels)/(\d{5})\.png$")


@dataclass(frozen=True)
class Gta5Source(Source):
    base_url: str  # with `download`: the archives' folder (or a mirror)
    archives: int  # with `download`: how many of 01_images.zip ... 10_images.zip (+ labels) to draw from [1..10]
    patience_s: float  # with `download`: seconds a failure may last before the fetch gives up

    def __post_init__(self):
        super().__post_init__()
        if not self.patience_s > 0:
            raise ValueError("patience_s: must be > 0")
        if not 1 <= self.archives <= 10:
            raise ValueError("archives: must be in [1, 10] (01_*.zip .. 10_*.zip)")


def find_pairs(tree) -> Inventory:
    found: dict[str, dict[str, str]] = {"images": {}, "labels": {}}
    for rel in tree.list():
        m = _RE.search(rel)
        if m:
            found[m.group(1)][m.group(2)] = rel
    images, labels = found["images"], found["labels"]
    if not images:
        raise DatasetError(f"{tree.origin('')}: no GTA5 images (expected images/NNNNN.png)")
    ids = sorted(set(images) & set(labels))
    all_ids = set(images) | set(labels)
    top = max(int(i) for i in all_ids)
    return Inventory(
        pairs=[Pair(i, images[i], labels[i]) for i in ids],
        images_without_label=sorted(set(images) - set(labels)),
        labels_without_image=sorted(set(labels) - set(images)),
        missing_ids=top - len(all_ids),
    )


def _one(index: int, *, root: Path, seed: int, size, missing_rate: float, mismatch_rate: float) -> int:
    quirk = np.random.default_rng([seed, 5, index])
    if quirk.random() < missing_rate:
        return 0  # ids missing from the sequence, as in the real set
    image, label_ids = scene(seed, "gta5", index, *size, style="game")
    label = Image.fromarray(label_ids, mode="L").convert("P")
    label.putpalette(cityscapes_palette_bytes())
    if quirk.random() < mismatch_rate:  # a label a few pixels off its image's size
        dw, dh = quirk.integers(1, 5, 2) * quirk.choice([-1, 1], 2)
        label = label.resize((size[0] + int(dw), size[1] + int(dh)), Image.NEAREST)
    name = f"{index:05d}.png"
    Image.fromarray(image).save(root / "images" / name)
    label.save(root / "labels" / name)
    return 1


def write_tree(root: Path, *, n: int, seed: int, scale: float, missing_rate: float,
               mismatch_rate: float, workers: int = 1, progress=None) -> int:
    """Write ``images/{id:05d}.png`` and palette ``labels/{id:05d}.png`` for ids 1..n; returns pairs written."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    fn = partial(_one, root=root, seed=seed, size=scaled(NATIVE_SIZE, scale),
                 missing_rate=missing_rate, mismatch_rate=mismatch_rate)
    return write_pool(fn, range(1, n + 1), workers, progress)


@register
class Gta5(Domain):
    name = "gta5"
    display_name = "GTA5"
    native_size = NATIVE_SIZE
    stream = 2
    Params = Gta5Source

    def find_pairs(self, tree) -> Inventory:
        return find_pairs(tree)

    def write_synthetic(self, root, *, n, seed, synthetic, workers=1, progress=None) -> int:
        return write_tree(root, n=n, seed=seed, scale=synthetic.scale, missing_rate=synthetic.missing_id_rate,
                          mismatch_rate=synthetic.label_size_mismatch_rate, workers=workers, progress=progress)

    def open_download(self, cache, on_bytes, on_wait):
        """Only the sampled members, by HTTP range requests, kept in ``cache`` (a re-run fetches only
        what it lacks); a server that goes away is waited for up to ``patience_s``."""
        from stylenorm import remote
        from stylenorm.datasets import ZipTree
        return ZipTree(remote.gta5_archive_urls(self.cfg.base_url, self.cfg.archives),
                       opener=remote.RemoteOpener(cache, on_bytes=on_bytes, on_wait=on_wait,
                                                  patience_s=self.cfg.patience_s))
