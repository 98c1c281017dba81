"""Score a trained segmenter on test (and validation) sets: confusion matrices -> mIoU (stylenorm.metrics).

A *set* is named by the images it holds, so a column never changes meaning with a parameter:
``cityscapes`` (raw Cityscapes), ``gta5_normalized`` (GTA5 after the cell's normalizer, as the
study scored its UNIT-mapped model; raw for ``identity``), ``gta5_raw`` (untranslated GTA5,
on request). ``pooled`` adds the Cityscapes and normalized-GTA5 confusion matrices (every test
pixel counts once); ``average`` is the mean of the two domains' mIoU, the study's column.

Per image, the per-class intersections (TP) and unions (TP + FP + FN) are kept too: summing
them over any resample of the test images gives that resample's IoU exactly, which is what a
test-set bootstrap needs (``stylenorm.statistics.bootstrap_miou``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from stylenorm import labels, paths
from stylenorm.metrics import confusion_matrix, summarize


@dataclass(frozen=True)
class TestSet:
    domain: str  # whose labels and split list
    split: str  # [test | val]
    images_dir: Path  # where its images are read from


def test_sets(normalizer: str, fit_seed: int, *, gta5_raw: bool, split: str = "test") -> dict[str, TestSet]:
    """The first study's sets: raw Cityscapes, normalized GTA5 and (``gta5_raw``) raw GTA5."""
    raw_gta5 = paths.sampled_dir("gta5") / paths.IMAGES
    sets = {"cityscapes": TestSet("cityscapes", split, paths.sampled_dir("cityscapes") / paths.IMAGES),
            "gta5_normalized": TestSet("gta5", split, paths.normalized_dir(normalizer, fit_seed, "gta5") / paths.IMAGES)}
    if gta5_raw and normalizer != "identity":
        sets["gta5_raw"] = TestSet("gta5", split, raw_gta5)
    return sets


def colourise(train_ids: np.ndarray) -> Image.Image:
    img = Image.fromarray(train_ids.astype(np.uint8), mode="L").convert("P")
    img.putpalette(labels.train_id_palette_bytes())
    return img


def intersection_union(conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class TP and TP + FP + FN of one confusion matrix (rows truth, columns prediction)."""
    tp = np.diag(conf)
    return tp, conf.sum(0) + conf.sum(1) - tp


def evaluate_sets(predict, sets: dict[str, TestSet], out_dir: Path, qualitative: int = 0,
                  resize_predictions: bool = False) -> dict:
    """Run ``predict(image_path) -> train ids`` over each set; write confusions, per-image
    intersections/unions and a few colourised predictions into ``out_dir``.

    A prediction whose size differs from its label is an error naming the image and both sizes,
    unless ``resize_predictions`` (images deliberately kept at another size: ``upsample: none``)."""
    confusions = {}
    for name, ts in sets.items():
        ids = paths.split_ids(ts.domain, ts.split)
        conf = np.zeros((labels.NUM_CLASSES, labels.NUM_CLASSES), dtype=np.int64)
        inter = np.zeros((len(ids), labels.NUM_CLASSES), dtype=np.int64)
        union = np.zeros_like(inter)
        pred_dir = out_dir / "pred" / name
        pred_dir.mkdir(parents=True, exist_ok=True)
        for k, i in enumerate(tqdm(ids, desc=f"evaluate {name} ({ts.split})", unit="img", mininterval=2.0)):
            gt = np.asarray(Image.open(paths.unified_dir(ts.domain) / paths.LABELS / f"{i}.png"))
            image_path = ts.images_dir / f"{i}.png"
            pred = predict(image_path)
            if pred.shape != gt.shape:
                if not resize_predictions:
                    raise ValueError(f"{image_path}: prediction is {pred.shape[1]}x{pred.shape[0]} but its label "
                                     f"{paths.unified_dir(ts.domain) / paths.LABELS / f'{i}.png'} is "
                                     f"{gt.shape[1]}x{gt.shape[0]} (width x height); images and labels must align")
                pred = np.asarray(Image.fromarray(pred).resize(gt.shape[::-1], Image.NEAREST))
            c = confusion_matrix(pred, gt)
            conf += c
            inter[k], union[k] = intersection_union(c)
            if k < qualitative:
                colourise(pred).save(pred_dir / f"{i}.png")
        np.save(out_dir / f"confusion_{name}.npy", conf)
        np.savez_compressed(out_dir / f"per_image_{name}.npz", ids=np.array(ids), intersection=inter, union=union)
        confusions[name] = conf
    return results_from_confusions(confusions)


def results_from_confusions(confusions: dict[str, np.ndarray]) -> dict:
    per_set = {name: summarize(conf) for name, conf in confusions.items()}
    per_set["pooled"] = summarize(confusions["cityscapes"] + confusions["gta5_normalized"])
    average = (per_set["cityscapes"]["mIoU"] + per_set["gta5_normalized"]["mIoU"]) / 2
    return {
        "mIoU": {**{k: v["mIoU"] for k, v in per_set.items()}, "average": average},
        "aAcc": {k: v["aAcc"] for k, v in per_set.items()},
        "IoU": {k: v["IoU"] for k, v in per_set.items()},
    }
