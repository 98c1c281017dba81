"""Every path the pipeline reads or writes, in one place.

dvc.yaml spells the same paths (DVC cannot import Python); ``tests/test_paths.py``
checks that the two agree, so change them together.

Layout (all relative to the repository root)::

    data/sampled/<domain>/          fetch: images/<id>.png, labels/<id>.png (native encoding), manifest.csv
    data/unified/<domain>/          unify_labels: labels/<id>.png (train ids, 255 ignore), index.csv
    data/splits/<domain>/           split: train.csv, test.csv
    metrics/fetch_<domain>.json     fetch report (counts, quirks)
    metrics/unify_<domain>.json     unify_labels report (mismatches, unknowns)
    plots/class_freq_<domain>.csv   per-class pixel frequencies (dvc plots)
    models/unit/                    train_translator: model.pt (generator + resolved config), config.yaml
    models/unit_checkpoints/        train_translator: last.pt, kept between runs to resume (persist)
    models/unit_live/               train_translator: DVCLive losses and image grids (persist)
    data/translated/gta5/           translate: images/<id>.png, GTA5 in the Cityscapes style
    metrics/translate.json          translate: throughput
    models/seg/<variant>/           train_seg: model.pth, config.py (resolved), work/ (MMEngine logs)
    models/seg_live/<variant>/      train_seg: DVCLive training and test loss
    data/eval/<variant>/            evaluate: confusion_<set>.npy, pred/<set>/<id>.png (qualitative)
    metrics/<variant>.json          evaluate: mIoU, per-class IoU, pixel accuracy per test set
    metrics/table.md, table.json    report: the study's Table 1
    plots/                          report: per_class_iou/, confusion/, qualitative.png
"""
from __future__ import annotations

from pathlib import Path

DATA_DIR = Path("data")
METRICS_DIR = Path("metrics")
PLOTS_DIR = Path("plots")
MODELS_DIR = Path("models")

UNIT_DIR = MODELS_DIR / "unit"
UNIT_MODEL = UNIT_DIR / "model.pt"
UNIT_CKPT_DIR = MODELS_DIR / "unit_checkpoints"
UNIT_LIVE_DIR = MODELS_DIR / "unit_live"
TRANSLATE_REPORT = METRICS_DIR / "translate.json"
SOURCE_DOMAIN, TARGET_DOMAIN = "gta5", "cityscapes"  # the translator maps A = GTA5 -> B = Cityscapes


def sampled_dir(domain: str) -> Path:
    return DATA_DIR / "sampled" / domain


def unified_dir(domain: str) -> Path:
    return DATA_DIR / "unified" / domain


def splits_dir(domain: str) -> Path:
    return DATA_DIR / "splits" / domain


def seg_dir(variant: str) -> Path:
    return MODELS_DIR / "seg" / variant


def seg_live_dir(variant: str) -> Path:
    return MODELS_DIR / "seg_live" / variant


def eval_dir(variant: str) -> Path:
    return DATA_DIR / "eval" / variant


def variant_metrics_path(variant: str) -> Path:
    return METRICS_DIR / f"{variant}.json"


TABLE_MD = METRICS_DIR / "table.md"
TABLE_JSON = METRICS_DIR / "table.json"
PER_CLASS_IOU_DIR = PLOTS_DIR / "per_class_iou"  # <variant>_<set>.csv: class, IoU
QUALITATIVE_PLOT = PLOTS_DIR / "qualitative.png"
CONFUSION_PLOT_DIR = PLOTS_DIR / "confusion"


VARIANTS = ("baseline", "unit_mapped")  # segmenters: Cityscapes + raw GTA5, Cityscapes + translated GTA5


def gta5_images_dir(variant: str) -> Path:
    """Where a variant's GTA5 images come from: raw (baseline) or translated (UNIT-mapped)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}")
    return (translated_dir() if variant == "unit_mapped" else sampled_dir("gta5")) / IMAGES


def translated_dir(domain: str = SOURCE_DOMAIN) -> Path:
    return DATA_DIR / "translated" / domain


def split_image_paths(domain: str, split: str) -> list[Path]:
    """Image paths of a domain's split list (``train`` or ``test``), in list order."""
    import pandas as pd

    ids = pd.read_csv(splits_dir(domain) / f"{split}.csv", dtype={"id": str}).id
    return [sampled_dir(domain) / IMAGES / f"{i}.png" for i in ids]


def fetch_report_path(domain: str) -> Path:
    return METRICS_DIR / f"fetch_{domain}.json"


def unify_report_path(domain: str) -> Path:
    return METRICS_DIR / f"unify_{domain}.json"


def class_freq_json_path(domain: str) -> Path:
    return METRICS_DIR / f"class_freq_{domain}.json"


def class_freq_plot_path(domain: str) -> Path:
    return PLOTS_DIR / f"class_freq_{domain}.csv"


# Inside a sampled/unified domain directory.
IMAGES = "images"
LABELS = "labels"
MANIFEST = "manifest.csv"
INDEX = "index.csv"
TRAIN_LIST = "train.csv"
TEST_LIST = "test.csv"
