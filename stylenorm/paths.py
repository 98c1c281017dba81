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
"""
from __future__ import annotations

from pathlib import Path

DATA_DIR = Path("data")
METRICS_DIR = Path("metrics")
PLOTS_DIR = Path("plots")


def sampled_dir(domain: str) -> Path:
    return DATA_DIR / "sampled" / domain


def unified_dir(domain: str) -> Path:
    return DATA_DIR / "unified" / domain


def splits_dir(domain: str) -> Path:
    return DATA_DIR / "splits" / domain


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
