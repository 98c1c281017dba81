"""Stage ``evaluate``: mIoU of one cell's segmenter on the test sets (and on the validation sets, for tuning).

Reads   params ``base.device``, ``study.fit_seeds``, ``evaluate``, ``<normalizer>.apply``;
        models/seg/<normalizer>/seed<seed>; raw Cityscapes and normalized (and, with
        evaluate.gta5_raw, raw) GTA5 test and val images; unified labels; split lists.
Writes  metrics/eval/<normalizer>-seed<seed>.json (test mIoU per set, pooled, average; per-class IoU;
        pixel accuracy; ``val``: the same on the validation split), data/eval/<normalizer>/seed<seed>/
        (confusion matrices, per-image intersections and unions, a few colourised predictions).
Run     python -m stages.evaluate <normalizer> <seed>
"""
from __future__ import annotations

import os

from stylenorm import paths
from stylenorm.cli import run_stage
from stylenorm.io import atomic_dir, remove_outputs, write_json


def evaluate(name: str, seed: int, params) -> dict:
    if params.base.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    from stylenorm.evaluation import evaluate_sets, test_sets
    from stylenorm.segmentation import load_segmenter, predict
    from stylenorm.device import resolve_device
    if name not in params.normalizers:
        params.normalizer(name)  # the error naming the known sections
    fit_seed = params.study.fit_seed(seed)
    model = load_segmenter(paths.seg_dir(name, seed), str(resolve_device(params.base.device)))
    # Images deliberately left at the network's size may be scored by resizing the prediction; anything
    # else whose prediction misses its label's size is a misalignment, and an error.
    # (read from the raw section: loading the normalizer's module here would make every evaluation
    # depend on its code, which only fit and normalize run)
    resize = (params.normalizers[name].get("apply") or {}).get("upsample") == "none"
    out_dir, metrics_path = paths.eval_dir(name, seed), paths.eval_metrics_path(name, seed)
    remove_outputs(out_dir, metrics_path)
    with atomic_dir(out_dir) as tmp:
        results = evaluate_sets(lambda p: predict(model, p), test_sets(name, fit_seed, gta5_raw=params.evaluate.gta5_raw),
                                tmp, qualitative=params.evaluate.qualitative, resize_predictions=resize)
        (tmp / "val").mkdir()
        val = evaluate_sets(lambda p: predict(model, p), test_sets(name, fit_seed, gta5_raw=False, split="val"),
                            tmp / "val", resize_predictions=resize)
    write_json(metrics_path, {**results, "val": {"mIoU": val["mIoU"], "aAcc": val["aAcc"]}})
    return results["mIoU"]


def main() -> None:
    run_stage(__doc__, evaluate, ("normalizer", str), ("seed", int))

if __name__ == "__main__":
    main()
