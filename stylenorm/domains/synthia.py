"""SYNTHIA-RAND-CITYSCAPES (Ros et al. 2016): 9,400 rendered frames from random viewpoints, 1280x760.

Layout: ``RGB/{id:07d}.png`` + ``GT/LABELS/{id:07d}.png``. A label is a 16-bit-per-channel PNG with
three channels: the SYNTHIA class id in the first (red) channel, an instance id in the second. PIL
reads such a file as 8 bits per channel (it keeps the high byte, which is 0 for every class id), so
labels are read with OpenCV's unchanged mode, and an 8-bit file is refused. The official download is
a RAR archive (``SYNTHIA_RAND_CITYSCAPES.rar``): extract it (``unrar x`` or ``7z x``) and point
``data.synthia.local_path`` at the folder holding ``RGB/`` and ``GT/``.

Ids map to the Cityscapes train classes as the domain-adaptation literature maps them (the 16
classes SYNTHIA shares with Cityscapes); void 0, parking-slot 13, road-work 14, terrain 16, truck 18,
train 20 and lane-marking 22 are ignored (255). It is scored over those 16 classes and over the 13
without wall, fence and pole, beside the 19-class figure.
"""
from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from stylenorm import labels
from stylenorm.config import ConfigError
from stylenorm.datasets import DatasetError, Inventory, Pair
from stylenorm.domains.base import Domain, Source, register
from stylenorm.synthetic import Viewpoint, scaled, scene, write_pool

NATIVE_SIZE = (1280, 760)
# SYNTHIA's class ids (the dataset's README) -> the Cityscapes label name they are scored as, or None (ignored).
SYNTHIA_IDS = {
    0: None, 1: "sky", 2: "building", 3: "road", 4: "sidewalk", 5: "fence", 6: "vegetation", 7: "pole", 8: "car",
    9: "traffic sign", 10: "person", 11: "bicycle", 12: "motorcycle", 13: None, 14: None, 15: "traffic light",
    16: None, 17: "rider", 18: None, 19: "bus", 20: None, 21: "wall", 22: None,
}
# What the embedded scenes' Cityscapes labels are written as (SYNTHIA's own ids for classes it has but
# does not score: terrain 16, truck 18, train 20, parking 13); any other label is void 0.
_WRITTEN_AS = {name: i for i, name in SYNTHIA_IDS.items() if name} | {"terrain": 16, "truck": 18, "train": 20, "parking": 13}
_THINGS = ("person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle")
CLASSES_16 = tuple(c for c in labels.CLASSES if c not in ("terrain", "truck", "train"))
CLASSES_13 = tuple(c for c in CLASSES_16 if c not in ("wall", "fence", "pole"))
VIEW = Viewpoint(height=(1.5, 6.0), horizon=(0.25, 0.45))  # SYNTHIA-RAND's random, often raised cameras
_RE = re.compile(r"(?:^|/)(RGB|GT/LABELS)/(\d+)\.png$")


def _lut() -> np.ndarray:
    lut = np.full(1 << 16, labels.UNKNOWN, dtype=np.uint8)
    for synthia_id, name in SYNTHIA_IDS.items():
        lut[synthia_id] = labels.IGNORE_INDEX if name is None else labels.TRAIN_ID[name]
    return lut


_LUT = _lut()


def decode_label(data: bytes, origin: str, unknown_to_ignore: bool = False) -> tuple[np.ndarray, str, dict[str, int]]:
    """(train ids, "synthia16", {unknown id: pixels}) of one ``GT/LABELS`` file's bytes."""
    try:
        array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    except cv2.error:
        array = None
    if array is None:
        raise DatasetError(f"{origin}: not a readable label image (OpenCV cannot decode its {len(data)} bytes)")
    if array.dtype != np.uint16 or array.ndim != 3 or array.shape[2] < 3:
        raise DatasetError(f"{origin}: a SYNTHIA label is a 16-bit, three-channel PNG (class id in red, instance "
                           f"in green); this one is {array.dtype.itemsize * 8}-bit with "
                           f"{1 if array.ndim == 2 else array.shape[2]} channel(s): a converted copy? Use GT/LABELS "
                           "as extracted from the archive")
    ids = array[..., 2]  # OpenCV orders channels BGR: red is the last
    mapped = np.take(_LUT, ids)
    mapped, unknown = labels.map_unknown(mapped, ids, origin, unknown_to_ignore, "SYNTHIA class ids outside its table (0..22)")
    return mapped, "synthia16", unknown


def encode_label(label_ids: np.ndarray) -> bytes:
    """A Cityscapes label-id map written as SYNTHIA writes its labels: 16-bit PNG, class id in red,
    an instance id (connected regions of a thing class, from 1) in green."""
    names = {lab.id: lab.name for lab in labels.LABELS}
    lut = np.zeros(256, dtype=np.uint16)
    for label_id, name in names.items():
        lut[label_id] = _WRITTEN_AS.get(name, 0)
    classes = lut[label_ids]
    instances = np.zeros(label_ids.shape, dtype=np.uint16)
    next_id = 1
    for name in _THINGS:
        regions, count = ndimage.label(label_ids == labels.LABEL_ID[name])
        instances[regions > 0] = regions[regions > 0] + next_id - 1
        next_id += count
    bgr = np.stack([np.zeros_like(classes), instances, classes], axis=-1)
    ok, png = cv2.imencode(".png", bgr)
    assert ok
    return png.tobytes()


def find_pairs(tree) -> Inventory:
    found: dict[str, dict[str, str]] = {"RGB": {}, "GT/LABELS": {}}
    for rel in tree.list():
        m = _RE.search(rel)
        if m:
            found[m.group(1)][m.group(2)] = rel
    images, labels_ = found["RGB"], found["GT/LABELS"]
    if not images:
        raise DatasetError(f"{tree.origin('')}: no SYNTHIA images (expected RGB/NNNNNNN.png with GT/LABELS/NNNNNNN.png; "
                           "the official RAR archive must be extracted first)")
    ids = sorted(set(images) & set(labels_))
    return Inventory(pairs=[Pair(i, images[i], labels_[i]) for i in ids],
                     images_without_label=sorted(set(images) - set(labels_)),
                     labels_without_image=sorted(set(labels_) - set(images)))


def _one(index: int, *, root: Path, seed: int, size) -> int:
    image, label_ids = scene(seed, "synthia", index, *size, style="render", view=VIEW)
    name = f"{index:07d}.png"
    cv2.imwrite(str(root / "RGB" / name), image[..., ::-1])
    (root / "GT" / "LABELS" / name).write_bytes(encode_label(label_ids))
    return 1


def write_tree(root: Path, *, n: int, seed: int, scale: float, workers: int = 1, progress=None) -> int:
    """Write ``RGB/{id:07d}.png`` and 16-bit ``GT/LABELS/{id:07d}.png`` for ids 0..n-1."""
    root = Path(root)
    (root / "RGB").mkdir(parents=True, exist_ok=True)
    (root / "GT" / "LABELS").mkdir(parents=True, exist_ok=True)
    return write_pool(partial(_one, root=root, seed=seed, size=scaled(NATIVE_SIZE, scale)), range(n), workers, progress)


@register
class Synthia(Domain):
    name = "synthia"
    display_name = "SYNTHIA"
    native_size = NATIVE_SIZE
    stream = 3
    class_subsets = {"16": CLASSES_16, "13": CLASSES_13}
    Params = Source

    def find_pairs(self, tree) -> Inventory:
        return find_pairs(tree)

    def decode_label(self, data, origin, unknown_to_ignore=False):
        return decode_label(data, origin, unknown_to_ignore)

    def write_synthetic(self, root, *, n, seed, synthetic, workers=1, progress=None) -> int:
        return write_tree(root, n=n, seed=seed, scale=synthetic.scale, workers=workers, progress=progress)

    def open_download(self, cache, on_bytes, on_wait):
        raise ConfigError("data.synthia.source: download is not offered: SYNTHIA ships one RAR archive "
                          "(SYNTHIA_RAND_CITYSCAPES.rar) from synthia-dataset.net; extract it (unrar x or 7z x) and "
                          "set source: local, local_path: the folder holding RGB/ and GT/")
