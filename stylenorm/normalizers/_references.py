"""What the training-free normalizers (fda, histmatch, reinhard) share: which target image a
source image takes its style from, image reading/writing, and the per-image process loop.

Not a normalizer (it registers nothing). Pairing is deterministic from ``(seed, image id)``,
where the image id is the source file's stem, and independent of the other sources: the same
GTA5 image gets the same Cityscapes reference whichever subset of sources is normalized, and
another seed gives another pairing. References are only ``ctx.train_images[ctx.target_domain]``,
the target domain's *training* split, so no validation or test image leaks into the style.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from PIL import Image

from stylenorm.normalizers.base import Context
from stylenorm.parallel import worker_map

# PNG deflate level of the outputs: 1 writes a full-size GTA5-like image 1.6x faster than
# Pillow's default 6, for files 9% larger (measured on a textured 1914x1052 image).
PNG_COMPRESS_LEVEL = 1


def image_id(path: Path) -> str:
    """The id a source image is paired by: its file stem (``00042`` for GTA5's ``00042.png``)."""
    return Path(path).stem


def target_references(ctx: Context) -> list[Path]:
    """The target domain's training images, sorted by file name (unique) so that the pairing
    depends on which images there are, not on the order or the folder they were listed from."""
    return domain_references(ctx, ctx.target_domain)


def domain_references(ctx: Context, domain: str) -> list[Path]:
    """``domain``'s training images as references (see ``target_references``). ``fit`` computes
    statistics for every domain it is given, so that ``apply`` can run in either direction."""
    refs = ctx.train_images.get(domain, [])
    if not refs:
        raise ValueError(f"no {domain} training images to take the style from "
                         f"(Context.train_images has {sorted(ctx.train_images) or 'no domains'})")
    refs = sorted(map(Path, refs), key=lambda p: p.name)
    names = [p.name for p in refs]
    if len(set(names)) != len(names):
        raise ValueError(f"{domain} training images share file names; references are known by name")
    return refs


def _id_key(stem: str) -> int:
    # Python's hash() of a str changes between processes; a digest does not.
    return int.from_bytes(hashlib.sha256(stem.encode()).digest()[:8], "little")


def image_rng(source: Path, seed: int) -> np.random.Generator:
    """The random stream of one source image under ``seed``: a function of (seed, image id) alone."""
    return np.random.default_rng([seed, _id_key(image_id(source))])


def paired_reference_index(source: Path, n_references: int, seed: int) -> int:
    """Index into ``target_references`` of the image that ``source`` is paired with."""
    return int(image_rng(source, seed).integers(n_references))


def paired_references(sources: Sequence[Path], references: Sequence[Path], seed: int) -> list[Path]:
    """One reference per source, drawn uniformly (with replacement) from (seed, image id)."""
    return [references[paired_reference_index(s, len(references), seed)] for s in sources]


def read_rgb(path: Path) -> np.ndarray:
    """An image file as uint8 (H, W, 3) RGB."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def resize_rgb(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize (Pillow's, which low-passes when shrinking); a no-op at the same size."""
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def write_png(path: Path, image: np.ndarray) -> None:
    Image.fromarray(image).save(path, compress_level=PNG_COMPRESS_LEVEL)


def check_sources(sources: Sequence[Path], dests: Sequence[Path]) -> None:
    if len(sources) != len(dests):
        raise ValueError(f"{len(sources)} sources but {len(dests)} destinations")


def batches(items: Sequence, size: int) -> list[list]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def run_batches(fn: Callable[[list], int], jobs: Sequence, workers: int, batch_size: int) -> dict:
    """Run ``fn`` on batches of ``jobs`` over ``workers`` processes; ``fn`` returns how many
    images it wrote. Returns the apply summary (images, seconds, images_per_second)."""
    start = time.perf_counter()
    done = 0
    with worker_map(workers, chunksize=1) as pmap:
        for n in pmap(fn, batches(jobs, batch_size)):
            done += n
    seconds = time.perf_counter() - start
    return {"images": done, "seconds": round(seconds, 3),
            "images_per_second": round(done / seconds, 2) if seconds > 0 else None}


def map_images(fn: Callable[[Path], object], paths: Iterable[Path], workers: int) -> list:
    """``[fn(p) for p in paths]`` over ``workers`` processes, in order."""
    with worker_map(workers) as pmap:
        return list(pmap(fn, list(paths)))
