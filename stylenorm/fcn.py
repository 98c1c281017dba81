"""Translation quality apart from its downstream effect: the FCN score (pix2pix, Isola et al. 2017;
CycleGAN, Zhu et al. 2017).

A segmenter trained on the *target* domain alone (the oracle, ``train_oracle@<target>-<seed>``)
segments the *source* domain's test images after a normalizer, and is scored against the source's
labels. High means the images look like the target (the oracle recognises them) and kept their
content (the labels still fit). ``identity`` (raw source images) is the floor: the oracle's own
cross-domain score, which ``evaluate_oracle`` reports too. No weights of another project are needed:
the oracle is this pipeline's own.

Paths live here rather than in ``stylenorm.paths``: every stage depends on that module, so adding
them there would mark the whole grid as changed. Layout::

    data/eval/fcn/<target>/<normalizer>/seed<k>/          confusion, per-image intersections and unions
    metrics/eval/fcn/<target>/<normalizer>-seed<k>.json   mIoU, aAcc, per-class IoU, direction, fit seed
    plots/fcn_vs_gain.csv                                 report: FCN score against downstream gain

Both sit below the report's dependencies (``data/eval``, ``metrics/eval``), so with no oracle listed
(no FCN cell) the report still has every dependency it declares.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from stylenorm import paths
from stylenorm.protocols.base import TestSet
from stylenorm.statistics import mean_ci
from stylenorm.study import other_domain

FCN = "fcn"
BASELINE = "identity"  # raw source images: the floor
GAIN_PLOT = paths.PLOTS_DIR / "fcn_vs_gain.csv"
GAIN_COLUMNS = ["protocol", "normalizer", "direction", "column", "fcn_miou", "gain", "gain_ci_low", "gain_ci_high"]


def fcn_dir(target: str, normalizer: str, seed: int) -> Path:
    return paths.DATA_DIR / "eval" / FCN / target / normalizer / f"seed{seed}"


def fcn_metrics_path(target: str, normalizer: str, seed: int) -> Path:
    return paths.METRICS_DIR / "eval" / FCN / target / f"{normalizer}-seed{seed}.json"


def direction_key(source: str, target: str) -> str:
    return f"{source}_to_{target}"  # no dot or arrow: DVC joins nested metric keys with dots


def score_translation(predict, test_set: TestSet, out_dir: Path, resize_predictions: bool = False) -> dict:
    """``predict(image_path) -> train ids`` over ``test_set`` (normalized source images, the source's
    labels and split list): mIoU, pixel accuracy (aAcc) and per-class IoU; confusion and per-image
    intersections/unions in ``out_dir`` as ``<source>_normalized`` (raw for identity, as ``mixed`` names
    its source set)."""
    from stylenorm.evaluation import evaluate_sets
    name = f"{test_set.domain}_normalized"
    results = evaluate_sets(predict, {name: test_set}, out_dir, resize_predictions=resize_predictions)
    return {key: results[key][name] for key in ("mIoU", "aAcc", "IoU")}


def fcn_score_cell(normalizer: str, fit_seed: int, source: str, target: str, seed: int, params, *,
                   resize_predictions: bool = False) -> dict:
    """Score ``target``'s oracle of seed ``seed`` on ``source``'s test images after ``normalizer`` (fit
    seed ``fit_seed``); write fcn_dir and fcn_metrics_path; return mIoU and aAcc."""
    if params.base.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    from stylenorm.device import resolve_device
    from stylenorm.io import atomic_dir, remove_outputs, write_json
    from stylenorm.protocols.base import normalized
    from stylenorm.segmentation import load_segmenter, predict
    model = load_segmenter(paths.seg_dir(paths.ORACLE, target, seed), str(resolve_device(params.base.device)))
    out_dir, metrics_path = fcn_dir(target, normalizer, seed), fcn_metrics_path(target, normalizer, seed)
    remove_outputs(out_dir, metrics_path)
    with atomic_dir(out_dir) as tmp:
        result = score_translation(lambda p: predict(model, p), normalized(normalizer, fit_seed, source, "test", params.study.pair), tmp,
                                   resize_predictions=resize_predictions)
    write_json(metrics_path, {"source": source, "target": target, "fit_seed": fit_seed, **result})
    return {"mIoU": result["mIoU"], "aAcc": result["aAcc"]}


def fcn_table(target: str, normalizers, seeds, *, confidence: float) -> dict:
    """normalizer -> {"mIoU", "aAcc"} -> {mean, ci_low, ci_high, n} over oracle seeds (a t-interval;
    one seed: no interval). A missing cell is an error naming its file and stage."""
    table = {}
    for n in normalizers:
        cells = []
        for s in seeds:
            path = fcn_metrics_path(target, n, s)
            if not path.exists():
                raise FileNotFoundError(f"{path}: missing (run fcn_score@{n}-{target}-{s})")
            cells.append(json.loads(path.read_text()))
        table[n] = {key: mean_ci([c[key] for c in cells], confidence).to_dict() for key in ("mIoU", "aAcc")}
    return table


def translated_domain(protocol, fit_seed: int) -> str | None:
    """The domain whose training images ``protocol`` normalizes (mixed: GTA5; source_only: its source),
    read from what a normalizer's cell trains on; None if it normalizes none."""
    sets = protocol.train_sets(BASELINE, fit_seed, "train")  # identity's images are copies under data/normalized
    domains = [ts.domain for ts in sets if ts.images_dir != paths.sampled_dir(ts.domain) / paths.IMAGES]
    return domains[0] if domains else None


def gain_rows(tables: dict[str, dict], fcn: dict[str, dict], protocols: dict, fit_seed: int) -> pd.DataFrame:
    """One point per protocol and normalizer: its FCN score (mean mIoU) in the direction the protocol
    translates, and its downstream gain, row − identity, on the column of raw target test images
    (identity: 0). Protocols whose direction has no FCN table (its target not in study.oracles) are left out."""
    out = []
    for p, table in tables.items():
        protocol = protocols[p]
        source = translated_domain(protocol, fit_seed)
        if source is None:
            continue
        target = other_domain(source, protocol.pair)
        direction = direction_key(source, target)
        column = next((c for c, key in protocol.columns().items() if key == target), None)
        if direction not in fcn or column is None:
            continue
        for n, row in table.items():
            if n not in fcn[direction] or column not in row:
                continue
            r = row[column]
            gain = (0.0, 0.0, 0.0) if n == BASELINE else (r["delta_vs_identity"], r["delta_ci_low"], r["delta_ci_high"])
            out.append(dict(zip(GAIN_COLUMNS, (p, n, direction, column, fcn[direction][n]["mIoU"]["mean"], *gain))))
    return pd.DataFrame(out, columns=GAIN_COLUMNS)
