"""Every path the pipeline reads or writes, in one place.

dvc.yaml spells the same paths (DVC cannot import Python); ``tests/test_pipeline.py``
checks that the two agree, so change them together. A *cell* of the study grid is a
(normalizer, seed) pair; every path below a cell names both.

Layout (all relative to the repository root)::

    data/sampled/<domain>/                       fetch: images/<id>.png, labels/<id>.png (native encoding), manifest.csv
    data/unified/<domain>/                       unify_labels: labels/<id>.png (train ids, 255 ignore), index.csv
    data/splits/<domain>/                        split: train.csv, val.csv, test.csv
    metrics/fetch_<domain>.json                  fetch report (counts, quirks)
    metrics/unify_<domain>.json                  unify_labels report (mismatches, unknowns)
    plots/class_freq_<domain>.csv                per-class pixel frequencies (dvc plots)
    models/normalizers/<name>/seed<s>/           fit: what apply needs (a translator's model.pt + config.yaml), live/ logs
    models/normalizers_work/<name>/seed<s>/      fit: resume point (checkpoint, logs in progress), kept between runs
    data/normalized/<name>/seed<s>/<domain>/     normalize: images/<id>.png, every sampled image of <domain> in the other's style
    metrics/normalize/<name>-seed<s>.json        normalize: throughput
    models/seg/<name>/seed<k>/                   train_seg: model.pth, config.py (resolved)
    models/seg_work/<name>/seed<k>/              train_seg: MMEngine work_dir and resume checkpoint, kept between runs
    models/seg_live/<name>/seed<k>/              train_seg: DVCLive training and validation loss
    data/eval/<name>/seed<k>/                    evaluate: confusion_<set>.npy, per_image_<set>.npz, pred/<set>/<id>.png
    metrics/eval/<name>-seed<k>.json             evaluate: mIoU, per-class IoU, pixel accuracy per test (and val) set
    metrics/table.md, table.json                 report: Table 1 with intervals, paired differences
    plots/                                       report: grid_miou.csv, per_class_iou/, confusion/, qualitative.png
"""
from __future__ import annotations

from pathlib import Path

DATA_DIR = Path("data")
METRICS_DIR = Path("metrics")
PLOTS_DIR = Path("plots")
MODELS_DIR = Path("models")

# The first study's direction: GTA5 (source, A) into the Cityscapes style (target, B).
SOURCE_DOMAIN, TARGET_DOMAIN = "gta5", "cityscapes"

# Inside a sampled/unified/normalized domain directory.
IMAGES = "images"
LABELS = "labels"
MANIFEST = "manifest.csv"
INDEX = "index.csv"
SPLITS = ("train", "val", "test")


def sampled_dir(domain: str) -> Path:
    return DATA_DIR / "sampled" / domain


def unified_dir(domain: str) -> Path:
    return DATA_DIR / "unified" / domain


def splits_dir(domain: str) -> Path:
    return DATA_DIR / "splits" / domain


def split_list(domain: str, split: str) -> Path:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return splits_dir(domain) / f"{split}.csv"


def split_ids(domain: str, split: str) -> list[str]:
    import pandas as pd
    return list(pd.read_csv(split_list(domain, split), dtype={"id": str}).id)


def split_image_paths(domain: str, split: str) -> list[Path]:
    """Raw image paths of a domain's split list, in list order."""
    return [sampled_dir(domain) / IMAGES / f"{i}.png" for i in split_ids(domain, split)]


# ----------------------------------------------------------------------------- normalizers
def fit_dir(name: str, seed: int) -> Path:
    return MODELS_DIR / "normalizers" / name / f"seed{seed}"


def fit_work_dir(name: str, seed: int) -> Path:
    return MODELS_DIR / "normalizers_work" / name / f"seed{seed}"


def normalized_root(name: str, seed: int) -> Path:
    return DATA_DIR / "normalized" / name / f"seed{seed}"


def normalized_dir(name: str, seed: int, domain: str) -> Path:
    """Every sampled image of ``domain`` after normalizer ``name`` (fit seed ``seed``): images/<id>.png."""
    return normalized_root(name, seed) / domain


def normalize_report_path(name: str, seed: int) -> Path:
    return METRICS_DIR / "normalize" / f"{name}-seed{seed}.json"


# ----------------------------------------------------------------------------- segmenters
def cell_name(name: str, seed: int) -> str:
    return f"{name}-seed{seed}"


def seg_dir(name: str, seed: int) -> Path:
    return MODELS_DIR / "seg" / name / f"seed{seed}"


def seg_work_dir(name: str, seed: int) -> Path:
    return MODELS_DIR / "seg_work" / name / f"seed{seed}"


def seg_live_dir(name: str, seed: int) -> Path:
    return MODELS_DIR / "seg_live" / name / f"seed{seed}"


def eval_dir(name: str, seed: int) -> Path:
    return DATA_DIR / "eval" / name / f"seed{seed}"


def eval_metrics_path(name: str, seed: int) -> Path:
    return METRICS_DIR / "eval" / f"{cell_name(name, seed)}.json"


def fetch_report_path(domain: str) -> Path:
    return METRICS_DIR / f"fetch_{domain}.json"


def unify_report_path(domain: str) -> Path:
    return METRICS_DIR / f"unify_{domain}.json"


def class_freq_json_path(domain: str) -> Path:
    return METRICS_DIR / f"class_freq_{domain}.json"


def class_freq_plot_path(domain: str) -> Path:
    return PLOTS_DIR / f"class_freq_{domain}.csv"


TABLE_MD = METRICS_DIR / "table.md"
TABLE_JSON = METRICS_DIR / "table.json"
GRID_PLOT = PLOTS_DIR / "grid_miou.csv"  # normalizer, column, mean, ci_low, ci_high, source (ours | study)
GRID_FIGURE = PLOTS_DIR / "grid_miou.png"  # the same, drawn by the report (README)
DELTA_PLOT = PLOTS_DIR / "delta_vs_identity.csv"
PER_CLASS_IOU_DIR = PLOTS_DIR / "per_class_iou"  # <normalizer>_<set>.csv: class, IoU (mean over seeds)
QUALITATIVE_PLOT = PLOTS_DIR / "qualitative.png"
CONFUSION_PLOT_DIR = PLOTS_DIR / "confusion"
