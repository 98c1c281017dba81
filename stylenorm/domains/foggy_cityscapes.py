"""Foggy Cityscapes (Sakaridis et al. 2018): every Cityscapes frame with synthetic fog of three
densities, scored with the Cityscapes labels of the same frame.

Layout: ``leftImg8bit_foggy/{split}/{city}/{stem}_leftImg8bit_foggy_beta_{beta}.png`` with beta
0.005, 0.01, 0.02 (attenuation per metre: visibility 600, 300, 150 m), and the Cityscapes
``gtFine/{split}/{city}/{stem}_gtFine_labelIds.png``; archives ``leftImg8bit_trainvaltest_foggy.zip``
and ``gtFine_trainvaltest.zip`` from the Cityscapes site (the same account). ``data.foggy_cityscapes.beta``
picks the density (0.02, the densest, is the usual Cityscapes -> Foggy Cityscapes target).

The frames are Cityscapes' own, so this domain is sampled and split with Cityscapes' stream: a foggy
test frame is the fogged copy of a Cityscapes test frame, never of a Cityscapes training frame. The
embedded default fogs the embedded Cityscapes scenes with the paper's model, transmittance
t = exp(-beta d) from each pixel's distance d in the scene model and a grey atmospheric light.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PIL import Image

from stylenorm.datasets import DatasetError, Inventory, Pair
from stylenorm.domains import cityscapes
from stylenorm.domains.base import Domain, register
from stylenorm.synthetic import add_fog, scaled, scene, write_pool

BETAS = (0.005, 0.01, 0.02)
AIRLIGHT = 0.8  # the embedded fog's grey atmospheric light, in [0, 1] (an overcast sky's brightness)
PACKAGES = ("gtFine_trainvaltest.zip", "leftImg8bit_trainvaltest_foggy.zip")
_RE = re.compile(r"(?:^|/)leftImg8bit_foggy/(train|val|test)/([^/]+)/(\2_\d{6}_\d{6})_leftImg8bit_foggy_beta_([0-9.]+)\.png$")


@dataclass(frozen=True)
class FoggySource(cityscapes.CityscapesSource):
    beta: float  # fog density of the frames used [0.005 | 0.01 | 0.02]

    def __post_init__(self):
        super().__post_init__()
        if self.beta not in BETAS:
            raise ValueError(f"beta: {self.beta!r} is not one of [{' | '.join(map(str, BETAS))}]")


def find_pairs(tree, beta: float, splits: tuple[str, ...] = ("train", "val")) -> Inventory:
    """The frames of density ``beta``, each with its Cityscapes label; a frame without one is an error
    (every Foggy Cityscapes frame has one: the gtFine archive is missing or another tree was given)."""
    files = tree.list()
    present = set(files)
    pairs, betas = [], set()
    for rel in files:
        m = _RE.search(rel)
        if not m or m.group(1) not in splits:
            continue
        split, city, stem, frame_beta = m.groups()
        betas.add(frame_beta)
        if float(frame_beta) != beta:
            continue
        prefix = rel[: m.start(0) + (1 if rel[m.start(0)] == "/" else 0)]
        label = cityscapes.label_path(prefix, split, city, stem)
        if label not in present:
            raise DatasetError(f"{tree.origin(rel)}: a foggy frame without its label {label} (Foggy Cityscapes "
                               "takes its labels from Cityscapes' gtFine_trainvaltest: extract it beside leftImg8bit_foggy/)")
        pairs.append(Pair(stem, rel, label))
    if not pairs:
        found = f" (found beta {', '.join(sorted(betas))})" if betas else ""
        raise DatasetError(f"{tree.origin('')}: no Foggy Cityscapes frames of beta {beta}{found} "
                           "(expected leftImg8bit_foggy/{train,val}/CITY/*_leftImg8bit_foggy_beta_<beta>.png)")
    return Inventory(pairs=pairs)


def _one(index: int, *, root: Path, seed: int, size) -> int:
    split, city, stem = cityscapes.frame_name(index)
    image, label_ids, distance = scene(seed, "cityscapes", index, *size, style="real", distance=True)  # Cityscapes' scene
    img_dir = root / "leftImg8bit_foggy" / split / city
    img_dir.mkdir(parents=True, exist_ok=True)
    for beta in BETAS:
        Image.fromarray(add_fog(image, distance, beta, AIRLIGHT)).save(img_dir / f"{stem}_leftImg8bit_foggy_beta_{beta}.png")
    cityscapes.write_label(root, index, label_ids)
    return 1


def write_tree(root: Path, *, n: int, seed: int, scale: float, workers: int = 1, progress=None) -> int:
    """The embedded Cityscapes pool, fogged at every beta, with its gtFine labels."""
    fn = partial(_one, root=Path(root), seed=seed, size=scaled(cityscapes.NATIVE_SIZE, scale))
    return write_pool(fn, range(n), workers, progress)


@register
class FoggyCityscapes(Domain):
    name = "foggy_cityscapes"
    display_name = "Foggy Cityscapes"
    native_size = cityscapes.NATIVE_SIZE
    stream = cityscapes.Cityscapes.stream  # the same frames: sampled and split as Cityscapes is
    Params = FoggySource

    def find_pairs(self, tree) -> Inventory:
        return find_pairs(tree, self.cfg.beta)

    def write_synthetic(self, root, *, n, seed, synthetic, workers=1, progress=None) -> int:
        return write_tree(root, n=n, seed=seed, scale=synthetic.scale, workers=workers, progress=progress)

    def open_download(self, cache, on_bytes, on_wait):
        from stylenorm import remote
        from stylenorm.datasets import ZipTree
        return ZipTree(remote.download_cityscapes(cache, self.cfg.base_url, PACKAGES))
