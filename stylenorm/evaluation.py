"""Score a trained segmenter on each domain's test split: confusion matrices -> mIoU (stylenorm.metrics).

Test sets are named ``cityscapes``, ``gta5`` and, when asked for, ``gta5_raw`` (the UNIT-mapped
model on untranslated GTA5). ``pooled`` adds the Cityscapes and GTA5 confusion matrices (every
test pixel counts once); ``average`` is the mean of the two domains' mIoU, the study's column.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from stylenorm import labels, paths
from stylenorm.metrics import confusion_matrix, summarize


def test_sets(variant: str, unit_mapped_gta5: str) -> dict[str, tuple[str, Path]]:
    """set name -> (domain, images folder)."""
    raw = paths.gta5_images_dir("baseline")
    sets = {"cityscapes": ("cityscapes", paths.sampled_dir("cityscapes") / paths.IMAGES),
            "gta5": ("gta5", raw if unit_mapped_gta5 == "raw" else paths.gta5_images_dir(variant))}
    if variant == "unit_mapped" and unit_mapped_gta5 == "both":
        sets["gta5_raw"] = ("gta5", raw)
    return sets


def colourise(train_ids: np.ndarray) -> Image.Image:
    img = Image.fromarray(train_ids.astype(np.uint8), mode="L").convert("P")
    img.putpalette(labels.train_id_palette_bytes())
    return img


def evaluate_sets(predict, sets: dict[str, tuple[str, Path]], out_dir: Path, qualitative: int = 0) -> dict:
    """Run ``predict(image_path) -> train ids`` over each set; write confusions and a few predictions."""
    confusions = {}
    for name, (domain, images_dir) in sets.items():
        ids = pd.read_csv(paths.splits_dir(domain) / paths.TEST_LIST, dtype={"id": str}).id
        conf = np.zeros((labels.NUM_CLASSES, labels.NUM_CLASSES), dtype=np.int64)
        pred_dir = out_dir / "pred" / name
        pred_dir.mkdir(parents=True, exist_ok=True)
        for k, i in enumerate(tqdm(ids, desc=f"evaluate {name}", unit="img", mininterval=2.0)):
            gt = np.asarray(Image.open(paths.unified_dir(domain) / paths.LABELS / f"{i}.png"))
            pred = predict(images_dir / f"{i}.png")
            if pred.shape != gt.shape:  # translate.upsample: none leaves images at the network's size
                pred = np.asarray(Image.fromarray(pred).resize(gt.shape[::-1], Image.NEAREST))
            conf += confusion_matrix(pred, gt)
            if k < qualitative:
                colourise(pred).save(pred_dir / f"{i}.png")
        np.save(out_dir / f"confusion_{name}.npy", conf)
        confusions[name] = conf
    return results_from_confusions(confusions)


def results_from_confusions(confusions: dict[str, np.ndarray]) -> dict:
    per_set = {name: summarize(conf) for name, conf in confusions.items()}
    per_set["pooled"] = summarize(confusions["cityscapes"] + confusions["gta5"])
    average = (per_set["cityscapes"]["mIoU"] + per_set["gta5"]["mIoU"]) / 2
    return {
        "mIoU": {**{k: v["mIoU"] for k, v in per_set.items()}, "average": average},
        "aAcc": {k: v["aAcc"] for k, v in per_set.items()},
        "IoU": {k: v["IoU"] for k, v in per_set.items()},
    }
