"""Sample image/label pairs from a native tree into the pipeline's uniform layout.

Output (one directory per domain)::

    images/<id>.png     the image, bytes as in the source
    labels/<id>.png     the label, bytes as in the source (native encoding)
    manifest.csv        id, image_source, label_source, image_sha256, label_sha256,
                        width, height, label_width, label_height
"""
from __future__ import annotations

import io
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from stylenorm import paths
from stylenorm.datasets import DatasetError, Inventory, Pair
from stylenorm.io import sha256

MANIFEST_COLUMNS = ["id", "image_source", "label_source", "image_sha256", "label_sha256",
                    "width", "height", "label_width", "label_height"]
_DOMAIN_STREAM = {"cityscapes": 1, "gta5": 2}


def sample_pairs(inventory: Inventory, n: int, seed: int, domain: str) -> list[Pair]:
    """``n`` pairs without replacement, deterministic from the seed, sorted by id."""
    pairs = sorted(inventory.pairs, key=lambda p: p.id)
    if n > len(pairs):
        raise DatasetError(f"{domain}: asked for {n} pairs but only {len(pairs)} usable pairs exist")
    rng = np.random.default_rng([seed, _DOMAIN_STREAM[domain]])
    chosen = np.sort(rng.choice(len(pairs), size=n, replace=False))
    return [pairs[i] for i in chosen]


def _image_size(data: bytes, origin: str, full: bool) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as img:
            size = img.size
            if full:
                img.load()  # decodes every byte: catches truncated and corrupt files
            return size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DatasetError(f"{origin}: not a readable image ({err})") from None


def _copy_pair(pair: Pair, *, tree, out_dir: Path) -> dict:
    image = tree.read(pair.image)
    label = tree.read(pair.label)
    width, height = _image_size(image, tree.origin(pair.image), full=True)
    label_width, label_height = _image_size(label, tree.origin(pair.label), full=False)
    (out_dir / paths.IMAGES / f"{pair.id}.png").write_bytes(image)
    (out_dir / paths.LABELS / f"{pair.id}.png").write_bytes(label)
    return {"id": pair.id, "image_source": tree.origin(pair.image), "label_source": tree.origin(pair.label),
            "image_sha256": sha256(image), "label_sha256": sha256(label),
            "width": width, "height": height, "label_width": label_width, "label_height": label_height}


def write_sample(pairs: list[Pair], tree, out_dir: Path, workers: int = 1, desc: str = "fetch") -> pd.DataFrame:
    """Copy ``pairs`` into ``out_dir`` and return the manifest (also written there)."""
    (out_dir / paths.IMAGES).mkdir(parents=True, exist_ok=True)
    (out_dir / paths.LABELS).mkdir(parents=True, exist_ok=True)
    fn = partial(_copy_pair, tree=tree, out_dir=out_dir)
    pool = Pool(workers) if workers > 1 else None
    try:
        rows = list(tqdm((pool.imap(fn, pairs, chunksize=16) if pool else map(fn, pairs)),
                         total=len(pairs), desc=desc, unit="pair"))
    finally:
        if pool:
            pool.close()
            pool.join()
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    manifest.to_csv(out_dir / paths.MANIFEST, index=False)
    return manifest


def read_manifest(domain_dir: Path) -> pd.DataFrame:
    path = Path(domain_dir) / paths.MANIFEST
    if not path.exists():
        raise DatasetError(f"{path}: missing manifest (run the fetch stage first)")
    frame = pd.read_csv(path, dtype={"id": str})
    missing = set(MANIFEST_COLUMNS) - set(frame.columns)
    if missing:
        raise DatasetError(f"{path}: missing columns {sorted(missing)}")
    return frame
