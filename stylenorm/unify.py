"""Map a domain's label images to the 19 Cityscapes train ids.

``decode_train_ids`` turns one label file in a Cityscapes encoding into a train-id array (uint8,
255 = ignore; ``stylenorm.labels.decode_label``); a domain with its own encoding (SYNTHIA) gives its
``decode_label`` to ``unify_domain``, which does a whole sampled domain in parallel and reports what it saw, including
every value outside the Cityscapes table that ``unknown_to_ignore`` turned into 255 (per value:
files, pixels). Errors name a label by its origin (the manifest's ``label_source``, e.g.
``03_labels.zip::labels/00090.png``) and its sampled copy.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from stylenorm import labels, paths
from stylenorm.datasets import DatasetError
from stylenorm.parallel import worker_map

INDEX_COLUMNS = ["id", "width", "height"]  # image: sampled_dir/images/<id>.png, label: unified_dir/labels/<id>.png
decode_label = labels.decode_label  # the Cityscapes encodings; a domain may have its own (Domain.decode_label)


def decode_train_ids(data: bytes, origin: str, unknown_to_ignore: bool = False) -> tuple[np.ndarray, str]:
    """(train ids H x W uint8, encoding name) of one label file's bytes (the Cityscapes encodings)."""
    train_ids, encoding, _ = decode_label(data, origin, unknown_to_ignore)
    return train_ids, encoding


def fit_to_image(train_ids: np.ndarray, size: tuple[int, int], policy: str) -> np.ndarray | None:
    """Make a label match its image's (width, height); None means drop the pair."""
    width, height = size
    if train_ids.shape == (height, width):
        return train_ids
    if policy == "drop":
        return None
    if policy == "resize_label":
        return np.asarray(Image.fromarray(train_ids).resize((width, height), Image.NEAREST))
    if policy == "crop":  # top-left aligned; pad with ignore where the label is short
        out = np.full((height, width), labels.IGNORE_INDEX, dtype=np.uint8)
        h, w = min(height, train_ids.shape[0]), min(width, train_ids.shape[1])
        out[:h, :w] = train_ids[:h, :w]
        return out
    raise ValueError(f"unknown size-mismatch policy {policy!r}")


@dataclass(frozen=True)
class _Job:
    id: str
    label_path: Path
    size: tuple[int, int]
    source: str = ""  # where the label came from (the manifest's label_source), for messages

    @property
    def origin(self) -> str:
        return f"{self.source}, sampled as {self.label_path}" if self.source else str(self.label_path)


def _unify_one(job: _Job, *, out_dir: Path, policy: str, unknown_to_ignore: bool, decode):
    train_ids, encoding, unknown = decode(job.label_path.read_bytes(), job.origin, unknown_to_ignore)
    mismatch = train_ids.shape != (job.size[1], job.size[0])
    fitted = fit_to_image(train_ids, job.size, policy)
    if fitted is None:
        return job.id, encoding, mismatch, None, unknown
    img = Image.fromarray(fitted, mode="L")
    img.save(out_dir / paths.LABELS / f"{job.id}.png")
    counts = np.asarray(img.histogram(), dtype=np.int64)  # 256 bins, one per train id
    return job.id, encoding, mismatch, counts, unknown


def unify_domain(sampled_dir: Path, manifest: pd.DataFrame, out_dir: Path, *, policy: str,
                 unknown_to_ignore: bool, workers: int = 1, desc: str = "unify",
                 decode=decode_label) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """Write train-id labels for every manifest row; return (index, report, pixel counts per train id).
    ``decode(bytes, origin, unknown_to_ignore)`` reads one label file (the domain's ``decode_label``)."""
    (out_dir / paths.LABELS).mkdir(parents=True, exist_ok=True)
    jobs = [_Job(row.id, Path(sampled_dir) / paths.LABELS / f"{row.id}.png", (int(row.width), int(row.height)),
                 str(getattr(row, "label_source", "") or ""))
            for row in manifest.itertuples()]
    for job in jobs:
        if not job.label_path.exists():
            raise DatasetError(f"{job.origin}: missing label for image {job.id}")
    fn = partial(_unify_one, out_dir=out_dir, policy=policy, unknown_to_ignore=unknown_to_ignore, decode=decode)
    with worker_map(workers) as pmap:
        results = list(tqdm(pmap(fn, jobs), total=len(jobs), desc=desc, unit="label"))
    counts = np.zeros(256, dtype=np.int64)
    rows, encodings, mismatched = [], {}, 0
    unknown_values: dict[str, dict[str, int]] = {}
    unknown_files = 0
    for (label_id, encoding, mismatch, c, unknown), job in zip(results, jobs):
        encodings[encoding] = encodings.get(encoding, 0) + 1
        mismatched += int(mismatch)
        unknown_files += bool(unknown)
        for value, pixels in unknown.items():
            entry = unknown_values.setdefault(value, {"files": 0, "pixels": 0})
            entry["files"] += 1
            entry["pixels"] += pixels
        if c is not None:
            counts += c
            rows.append({"id": label_id, "width": job.size[0], "height": job.size[1]})
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    report = {
        "labels": len(jobs),
        "kept": len(rows),
        "encodings": encodings,
        "size_mismatch": {"count": mismatched, "policy": policy, "dropped": len(jobs) - len(rows)},
        "ignore_fraction": float(counts[labels.IGNORE_INDEX] / max(1, counts.sum())),
        # values outside the Cityscapes table that unknown_to_ignore set to 255 (pixels as decoded, before resizing)
        "unknown_to_ignore": {
            "files": unknown_files,
            "pixels": sum(e["pixels"] for e in unknown_values.values()),
            "values": dict(sorted(unknown_values.items(), key=lambda kv: (-kv[1]["pixels"], kv[0]))),
        },
    }
    return index, report, counts[: labels.NUM_CLASSES]


def class_frequencies(counts: np.ndarray) -> dict[str, float]:
    """Fraction of labelled (non-ignore) pixels per class."""
    total = max(1, int(counts.sum()))
    return {name: float(c) / total for name, c in zip(labels.CLASSES, counts)}
