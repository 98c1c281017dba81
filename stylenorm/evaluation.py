"""Score a trained segmenter on test (and validation) sets: confusion matrices -> mIoU (stylenorm.metrics).

Which sets a cell is scored on is its protocol's (``stylenorm.protocols``); a set is named by the
images it holds, so a column never changes meaning with a parameter: ``<domain>`` (raw test images:
``cityscapes``, ``gta5``), ``<source>_normalized`` (the source after the cell's normalizer, as the first
study scored its UNIT-mapped GTA5; raw for ``identity``), ``<source>_raw`` (the untranslated source beside
it, ``evaluate.source_raw``, on request). With a protocol's ``pooled`` sets (``mixed``: the target and the
normalized source), ``pooled`` adds their confusion matrices (every test pixel counts once) and
``average`` is the mean of their mIoU, the study's column.

Per image, the per-class intersections (TP) and unions (TP + FP + FN) are kept too: summing
them over any resample of the test images gives that resample's IoU exactly, which is what a
test-set bootstrap needs (``stylenorm.statistics.bootstrap_miou``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from stylenorm import labels, paths
from stylenorm.metrics import confusion_matrix, summarize
from stylenorm.protocols.base import TestSet


def colourise(train_ids: np.ndarray) -> Image.Image:
    img = Image.fromarray(train_ids.astype(np.uint8), mode="L").convert("P")
    img.putpalette(labels.train_id_palette_bytes())
    return img


def intersection_union(conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class TP and TP + FP + FN of one confusion matrix (rows truth, columns prediction)."""
    tp = np.diag(conf)
    return tp, conf.sum(0) + conf.sum(1) - tp


def evaluate_sets(predict, sets: dict[str, TestSet], out_dir: Path, qualitative: int = 0,
                  resize_predictions: bool = False, pooled: tuple[str, ...] = ()) -> dict:
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
    return results_from_confusions(confusions, pooled)


def results_from_confusions(confusions: dict[str, np.ndarray], pooled: tuple[str, ...] = ()) -> dict:
    """mIoU, pixel accuracy and per-class IoU per set; with ``pooled`` sets also ``pooled`` (their
    confusions summed) and ``average`` (the mean of their mIoU)."""
    per_set = {name: summarize(conf) for name, conf in confusions.items()}
    extra = {}
    if pooled:
        per_set["pooled"] = summarize(sum(confusions[k] for k in pooled))
        extra["average"] = sum(per_set[k]["mIoU"] for k in pooled) / len(pooled)
    return {
        "mIoU": {**{k: v["mIoU"] for k, v in per_set.items()}, **extra},
        "aAcc": {k: v["aAcc"] for k, v in per_set.items()},
        "IoU": {k: v["IoU"] for k, v in per_set.items()},
    }


def evaluate_cell(protocol: str, row: str, seed: int, test_sets: dict, val_sets: dict, params, *,
                  pooled: tuple[str, ...] = (), resize_predictions: bool = False) -> dict:
    """Score cell (protocol, row, seed)'s segmenter on ``test_sets`` (and ``val_sets``, for tuning);
    write data/eval/... and metrics/eval/...; return the test mIoU per set."""
    if params.base.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    from stylenorm.device import resolve_device
    from stylenorm.io import atomic_dir, remove_outputs, write_json
    from stylenorm.segmentation import load_segmenter, predict
    model = load_segmenter(paths.seg_dir(protocol, row, seed), str(resolve_device(params.base.device)))
    out_dir, metrics_path = paths.eval_dir(protocol, row, seed), paths.eval_metrics_path(protocol, row, seed)
    remove_outputs(out_dir, metrics_path)
    with atomic_dir(out_dir) as tmp:
        results = evaluate_sets(lambda p: predict(model, p), test_sets, tmp, qualitative=params.evaluate.qualitative,
                                resize_predictions=resize_predictions, pooled=pooled)
        (tmp / "val").mkdir()
        val = evaluate_sets(lambda p: predict(model, p), val_sets, tmp / "val", resize_predictions=resize_predictions,
                            pooled=pooled)
    write_json(metrics_path, {**results, "val": {"mIoU": val["mIoU"], "aAcc": val["aAcc"]}})
    return results["mIoU"]


