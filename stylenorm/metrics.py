"""Segmentation metrics from a confusion matrix, as the Cityscapes evaluation defines them.

IoU_c = TP_c / (TP_c + FP_c + FN_c). A class absent from both the ground truth
and the predictions has no IoU (NaN) and is left out of the mean, as
cityscapesscripts does; pixels labelled 255 are ignored.
"""
from __future__ import annotations

import numpy as np

from stylenorm.labels import CLASSES, IGNORE_INDEX, NUM_CLASSES


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int = NUM_CLASSES,
                     ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """(num_classes, num_classes) int64 counts, rows = ground truth, columns = prediction."""
    pred, target = np.asarray(pred).ravel(), np.asarray(target).ravel()
    if pred.shape != target.shape:
        raise ValueError(f"prediction has {pred.size} pixels, ground truth {target.size}")
    keep = target != ignore_index
    idx = target[keep].astype(np.int64) * num_classes + pred[keep].astype(np.int64)
    return np.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def iou_per_class(conf: np.ndarray) -> np.ndarray:
    tp = np.diag(conf).astype(np.float64)
    denom = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, tp / denom, np.nan)


def summarize(conf: np.ndarray) -> dict:
    """mIoU (NaN-ignoring mean), per-class IoU (None where undefined) and pixel accuracy."""
    iou = iou_per_class(conf)
    total = conf.sum()
    return {
        "mIoU": float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan"),
        "aAcc": float(np.trace(conf) / total) if total else float("nan"),
        "IoU": {name: (None if np.isnan(v) else float(v)) for name, v in zip(CLASSES, iou)},
    }
