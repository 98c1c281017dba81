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
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from stylenorm import paths
from stylenorm.datasets import DatasetError, Inventory, Pair
from stylenorm.io import sha256
from stylenorm.parallel import worker_map

MANIFEST_COLUMNS = ["id", "image_source", "label_source", "image_sha256", "label_sha256",
                    "width", "height", "label_width", "label_height"]

def candidate_order(inventory: Inventory, n: int, seed: int, stream: int, domain: str) -> list[Pair]:
    """Every pair in a random order fixed by the seed and the domain's stream (``Domain.stream``): the
    sample is the first ``n`` usable ones."""
    pairs = sorted(inventory.pairs, key=lambda p: p.id)
    if n > len(pairs):
        raise DatasetError(f"{domain}: asked for {n} pairs but only {len(pairs)} usable pairs exist")
    order = np.random.default_rng([seed, stream]).permutation(len(pairs))
    return [pairs[i] for i in order]


def _inspect(data: bytes, origin: str, full: bool) -> tuple[int, int, bool]:
    """(width, height, blank); ``full`` decodes every byte, catching truncated and corrupt files."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            size = img.size
            if not full:
                return (*size, False)
            img.load()
            extrema = img.getextrema()
            bands = extrema if isinstance(extrema[0], tuple) else (extrema,)
            return (*size, all(lo == hi for lo, hi in bands))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DatasetError(f"{origin}: not a readable image ({err})") from None


def _copy_pair(pair: Pair, *, tree, out_dir: Path) -> dict | None:
    """Copy one pair and return its manifest row; None for a blank (single-colour) image."""
    image = tree.read(pair.image)
    width, height, blank = _inspect(image, tree.origin(pair.image), full=True)
    if blank:
        return None
    label = tree.read(pair.label)
    label_width, label_height, _ = _inspect(label, tree.origin(pair.label), full=False)
    (out_dir / paths.IMAGES / f"{pair.id}.png").write_bytes(image)
    (out_dir / paths.LABELS / f"{pair.id}.png").write_bytes(label)
    return {"id": pair.id, "image_source": tree.origin(pair.image), "label_source": tree.origin(pair.label),
            "image_sha256": sha256(image), "label_sha256": sha256(label),
            "width": width, "height": height, "label_width": label_width, "label_height": label_height}


def write_sample(candidates: list[Pair], n: int, tree, out_dir: Path, workers: int = 1,
                 desc: str = "fetch") -> tuple[pd.DataFrame, list[str]]:
    """Copy the first ``n`` usable candidates into ``out_dir``; blank images are skipped and the
    next candidates taken instead. Returns (manifest, blank ids); the manifest is written there too."""
    (out_dir / paths.IMAGES).mkdir(parents=True, exist_ok=True)
    (out_dir / paths.LABELS).mkdir(parents=True, exist_ok=True)
    fn = partial(_copy_pair, tree=tree, out_dir=out_dir)
    rows, blanks, taken = [], [], 0
    with worker_map(workers, chunksize=16) as pmap, tqdm(total=n, desc=desc, unit="pair") as bar:
        while len(rows) < n:
            batch = candidates[taken : taken + n - len(rows)]
            if not batch:
                raise DatasetError(f"{desc}: only {len(rows)} usable pairs ({len(blanks)} blank images skipped); asked for {n}")
            taken += len(batch)
            for pair, row in zip(batch, pmap(fn, batch)):
                if row is None:
                    blanks.append(pair.id)
                else:
                    rows.append(row)
                    bar.update(1)
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS).sort_values("id").reset_index(drop=True)
    manifest.to_csv(out_dir / paths.MANIFEST, index=False)
    return manifest, sorted(blanks)


def read_manifest(domain_dir: Path) -> pd.DataFrame:
    path = Path(domain_dir) / paths.MANIFEST
    if not path.exists():
        raise DatasetError(f"{path}: missing manifest (run the fetch stage first)")
    frame = pd.read_csv(path, dtype={"id": str})
    missing = set(MANIFEST_COLUMNS) - set(frame.columns)
    if missing:
        raise DatasetError(f"{path}: missing columns {sorted(missing)}")
    return frame
