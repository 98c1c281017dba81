"""Stage ``evaluate``: mIoU of one variant's model on the Cityscapes and GTA5 test splits.

Reads   params ``base.device``, ``evaluate``; models/seg/<variant>; test lists, images (GTA5
        translated for unit_mapped, as the study; raw too with evaluate.unit_mapped_gta5: both).
Writes  metrics/<variant>.json (mIoU per test set, pooled, average; per-class IoU; pixel accuracy),
        data/eval/<variant>/ (confusion matrices, a few colourised predictions).
Run     python -m stages.evaluate <baseline|unit_mapped>
"""
from __future__ import annotations

import os

from stylenorm import paths
from stylenorm.cli import run_stage
from stylenorm.evaluation import evaluate_sets, test_sets
from stylenorm.io import atomic_dir, remove_outputs, write_json
from stylenorm.segmentation import VARIANTS, load_segmenter, predict
from stylenorm.translators.train import resolve_device


def evaluate(variant: str, params) -> dict:
    if params.base.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    device = resolve_device(params.base.device)
    model = load_segmenter(paths.seg_dir(variant), str(device))
    remove_outputs(paths.eval_dir(variant), paths.variant_metrics_path(variant))
    with atomic_dir(paths.eval_dir(variant)) as tmp:
        results = evaluate_sets(lambda p: predict(model, p), test_sets(variant, params.evaluate.unit_mapped_gta5),
                                tmp, qualitative=params.evaluate.qualitative)
    write_json(paths.variant_metrics_path(variant), results)
    return results["mIoU"]


def main() -> None:
    run_stage(__doc__, evaluate, ("variant", VARIANTS))

if __name__ == "__main__":
    main()
