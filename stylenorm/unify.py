"""Map label images in any of the three native encodings to the 19 Cityscapes train ids.

``decode_train_ids`` turns one label file into a train-id array (uint8, 255 =
ignore), picking the encoding from the PNG mode: ``P`` (GTA5, palette index =
label id), ``L``/``I`` (Cityscapes labelIds) or ``RGB``/``RGBA`` (colour-coded).
``unify_domain`` does a whole sampled domain in parallel and reports what it saw.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from stylenorm import labels, paths
from stylenorm.datasets import DatasetError
from stylenorm.parallel import worker_map

_ID_LUT = {False: labels.id_to_train_id_lut(None), True: labels.id_to_train_id_lut(labels.IGNORE_INDEX)}
INDEX_COLUMNS = ["id", "width", "height"]  # image: sampled_dir/images/<id>.png, label: unified_dir/labels/<id>.png
_COLOUR_LUT: dict[bool, np.ndarray] = {}  # 16 MiB each, built on first use per process


def _colour_lut(unknown_to_ignore: bool) -> np.ndarray:
    if unknown_to_ignore not in _COLOUR_LUT:
        _COLOUR_LUT[unknown_to_ignore] = labels.colour_to_train_id_lut(labels.IGNORE_INDEX if unknown_to_ignore else None)
    return _COLOUR_LUT[unknown_to_ignore]


def decode_train_ids(data: bytes, origin: str, unknown_to_ignore: bool = False) -> tuple[np.ndarray, str]:
    """(train ids H x W uint8, encoding name) of one label file's bytes."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DatasetError(f"{origin}: not a readable label image ({err})") from None
    if img.mode in ("P", "L", "I", "I;16"):
        values = np.asarray(img)
        encoding = "palette" if img.mode == "P" else "ids"
        if values.dtype != np.uint8:
            if values.min() < 0 or values.max() > 255:
                bad = np.unique(values[(values < 0) | (values > 255)])[:10].tolist()
                raise DatasetError(f"{origin}: label ids outside the Cityscapes table: {bad}")
            values = values.astype(np.uint8)
        mapped = np.take(_ID_LUT[unknown_to_ignore], values)
    elif img.mode in ("RGB", "RGBA"):
        rgb = np.asarray(img.convert("RGB") if img.mode == "RGBA" else img).astype(np.int32)
        key = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        mapped = np.take(_colour_lut(unknown_to_ignore), key)
        encoding, values = "rgb", key
    else:
        raise DatasetError(f"{origin}: unsupported label PNG mode {img.mode!r} (expected P, L, I or RGB)")
    if not unknown_to_ignore and (mapped == labels.UNKNOWN).any():
        bad = np.unique(values[mapped == labels.UNKNOWN])[:10]
        if encoding == "rgb":
            shown = [((int(v) >> 16) & 255, (int(v) >> 8) & 255, int(v) & 255) for v in bad]
            what = "colours"
        else:
            shown, what = bad.tolist(), "ids" if encoding == "ids" else "palette indices"
        raise DatasetError(f"{origin}: {what} outside the Cityscapes table: {shown} "
                           "(set unify_labels.unknown_to_ignore: true to map them to 255)")
    return mapped, encoding


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


def _unify_one(job: _Job, *, out_dir: Path, policy: str, unknown_to_ignore: bool):
    train_ids, encoding = decode_train_ids(job.label_path.read_bytes(), str(job.label_path), unknown_to_ignore)
    mismatch = train_ids.shape != (job.size[1], job.size[0])
    fitted = fit_to_image(train_ids, job.size, policy)
    if fitted is None:
        return job.id, encoding, mismatch, None
    img = Image.fromarray(fitted, mode="L")
    img.save(out_dir / paths.LABELS / f"{job.id}.png")
    counts = np.asarray(img.histogram(), dtype=np.int64)  # 256 bins, one per train id
    return job.id, encoding, mismatch, counts


def unify_domain(sampled_dir: Path, manifest: pd.DataFrame, out_dir: Path, *, policy: str,
                 unknown_to_ignore: bool, workers: int = 1, desc: str = "unify") -> tuple[pd.DataFrame, dict, np.ndarray]:
    """Write train-id labels for every manifest row; return (index, report, pixel counts per train id)."""
    (out_dir / paths.LABELS).mkdir(parents=True, exist_ok=True)
    jobs = [_Job(row.id, Path(sampled_dir) / paths.LABELS / f"{row.id}.png", (int(row.width), int(row.height)))
            for row in manifest.itertuples()]
    for job in jobs:
        if not job.label_path.exists():
            raise DatasetError(f"{job.label_path}: missing label for image {job.id}")
    fn = partial(_unify_one, out_dir=out_dir, policy=policy, unknown_to_ignore=unknown_to_ignore)
    with worker_map(workers) as pmap:
        results = list(tqdm(pmap(fn, jobs), total=len(jobs), desc=desc, unit="label"))
    counts = np.zeros(256, dtype=np.int64)
    rows, encodings, mismatched = [], {}, 0
    for (label_id, encoding, mismatch, c), job in zip(results, jobs):
        encodings[encoding] = encodings.get(encoding, 0) + 1
        mismatched += int(mismatch)
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
    }
    return index, report, counts[: labels.NUM_CLASSES]


def class_frequencies(counts: np.ndarray) -> dict[str, float]:
    """Fraction of labelled (non-ignore) pixels per class."""
    total = max(1, int(counts.sum()))
    return {name: float(c) / total for name, c in zip(labels.CLASSES, counts)}
