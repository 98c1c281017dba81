"""Every path the pipeline reads or writes, in one place.

dvc.yaml spells the same paths (DVC cannot import Python); ``tests/test_pipeline.py``
checks that the two agree, so change them together. A *cell* of the study grid is a
(protocol, normalizer, seed) triple; every path below a cell names all three.

Layout (all relative to the repository root)::

    data/sampled/<domain>/                       fetch: images/<id>.png, labels/<id>.png (native encoding), manifest.csv
    data/unified/<domain>/                       unify_labels: labels/<id>.png (train ids, 255 ignore), index.csv
    data/splits/<domain>/                        split: train.csv, val.csv, test.csv
    metrics/fetch_<domain>.json                  fetch report (counts, quirks)
    metrics/unify_<domain>.json                  unify_labels report (mismatches, unknowns)
    plots/class_freq_<domain>.csv                per-class pixel frequencies (dvc plots)
    models/normalizers/<source>-<target>/<name>/seed<s>/        fit: what apply needs (a translator's model.pt + config.yaml), live/ logs
    models/normalizers_work/<source>-<target>/<name>/seed<s>/   fit: resume point (checkpoint, logs in progress), kept between runs
    data/normalized/<source>-<target>/<name>/seed<s>/<domain>/   normalize: images/<id>.png, every sampled image of
                                                 <domain> in the style of the pair's other domain
    metrics/normalize/<name>-seed<s>-<domain>.json  normalize: throughput
    models/seg/<protocol>/<name>/seed<k>/        train_seg: model.pth, config.py (resolved)
    models/seg_work/<source>-<target>/<protocol>/<name>/seed<k>/   train_seg: MMEngine work_dir and resume checkpoint,
                                                 kept between runs (an oracle's: models/seg_work/oracle/<domain>/seed<k>/)
    models/seg_live/<protocol>/<name>/seed<k>/   train_seg: DVCLive training and validation loss
    data/eval/<protocol>/<name>/seed<k>/         evaluate: confusion_<set>.npy, per_image_<set>.npz, pred/<set>/<id>.png
    metrics/eval/<protocol>/<name>-seed<k>.json  evaluate: mIoU, per-class IoU, pixel accuracy per test (and val) set
    .../oracle/<domain>/seed<k>...               train_oracle / evaluate_oracle: the same, for a segmenter
                                                 trained on <domain> alone (the protocol slot holds ``oracle``)
    metrics/table.md, table.json                 report: one table per protocol with intervals, paired differences
    metrics/summary/<protocol>/<row>.json        report: the declared metrics: each column's mean mIoU, paired delta
    metrics/summary/<protocol>/cells/<row>-seed<k>.json   ... and each cell's mIoU per column
    plots/                                       report: grid_miou.csv, per_class_iou/, confusion/, qualitative/
"""
from __future__ import annotations

from pathlib import Path

DATA_DIR = Path("data")
METRICS_DIR = Path("metrics")
PLOTS_DIR = Path("plots")
MODELS_DIR = Path("models")

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
def fit_dir(name: str, pair: tuple[str, str], seed: int) -> Path:
    """What a fit of ``pair`` writes and apply reads: one per pair, as a translator of one pair is not another's."""
    return MODELS_DIR / "normalizers" / pair_name(pair) / name / f"seed{seed}"


def fit_work_dir(name: str, pair: tuple[str, str], seed: int) -> Path:
    """A fit's resume point, one per pair: another pair's fit keeps this one's."""
    return MODELS_DIR / "normalizers_work" / pair_name(pair) / name / f"seed{seed}"


def pair_name(pair: tuple[str, str]) -> str:
    """The study's (source, target) as a path part: ``gta5-cityscapes``."""
    source, target = pair
    return f"{source}-{target}"


def normalized_dir(name: str, pair: tuple[str, str], seed: int, domain: str) -> Path:
    """Every sampled image of ``domain`` after normalizer ``name`` fitted on ``pair`` (fit seed ``seed``), in the
    style of the pair's other domain: images/<id>.png."""
    return DATA_DIR / "normalized" / pair_name(pair) / name / f"seed{seed}" / domain


def normalize_report_path(name: str, seed: int, domain: str) -> Path:
    return METRICS_DIR / "normalize" / f"{name}-seed{seed}-{domain}.json"


# ----------------------------------------------------------------------------- segmenters
# A cell is (protocol, row, seed): the row is a normalizer, or for ORACLE a domain.
ORACLE = "oracle"


def cell_name(protocol: str, name: str, seed: int) -> str:
    return f"{protocol}/{name}-seed{seed}"


def seg_dir(protocol: str, name: str, seed: int) -> Path:
    return MODELS_DIR / "seg" / protocol / name / f"seed{seed}"


def seg_work_dir(protocol: str, name: str, seed: int, pair: tuple[str, str] | None = None) -> Path:
    """A cell's resume point (outside DVC's outputs, kept between runs): a protocol's cell's under its ``pair``,
    so another pair's run keeps this one's; an oracle's (``pair`` None) under its domain alone."""
    if (protocol == ORACLE) != (pair is None):
        raise ValueError(f"seg_work_dir({protocol!r}, ...): an oracle's takes no pair, a protocol's cell needs one")
    return MODELS_DIR / "seg_work" / (protocol if pair is None else Path(pair_name(pair), protocol)) / name / f"seed{seed}"


def seg_live_dir(protocol: str, name: str, seed: int) -> Path:
    return MODELS_DIR / "seg_live" / protocol / name / f"seed{seed}"


def eval_dir(protocol: str, name: str, seed: int) -> Path:
    return DATA_DIR / "eval" / protocol / name / f"seed{seed}"


def eval_metrics_path(protocol: str, name: str, seed: int) -> Path:
    return METRICS_DIR / "eval" / f"{cell_name(protocol, name, seed)}.json"


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
SUMMARY_DIR = METRICS_DIR / "summary"  # what dvc.yaml declares as metrics (stylenorm.report.summary_metrics)
GRID_PLOT = PLOTS_DIR / "grid_miou.csv"  # protocol, normalizer, column, mean, ci_low, ci_high, source (ours | study)
GRID_FIGURE = PLOTS_DIR / "grid_miou.png"  # the same, drawn by the report (README)
DELTA_PLOT = PLOTS_DIR / "delta_vs_identity.csv"
PER_CLASS_IOU_DIR = PLOTS_DIR / "per_class_iou"  # <protocol>/<row>_<set>.csv: class, IoU (mean over seeds)
QUALITATIVE_DIR = PLOTS_DIR / "qualitative"  # <protocol>.png: test images, inputs and predictions
CONFUSION_PLOT_DIR = PLOTS_DIR / "confusion"  # <protocol>/<row>_<set>.png
