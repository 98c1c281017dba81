"""Stage ``train_seg``: DeepLabv3+ on Cityscapes train + GTA5 train, raw or UNIT-mapped.

Reads   params ``base``, ``seg``; the config ``seg.config`` (configs/, MMSeg _base_ composition);
        Cityscapes train images, GTA5 train images from data/sampled/gta5 (baseline) or
        data/translated/gta5 (unit_mapped), unified labels, split lists.
Writes  models/seg/<variant>/{model.pth, config.py, work/}; models/seg_live/<variant>/ (DVCLive:
        training loss and the pooled test loss per interval).
Run     python -m stages.train_seg <baseline|unit_mapped>
        torchrun --nproc_per_node=4 -m stages.train_seg baseline   # several GPUs (MMEngine DDP)
"""
from __future__ import annotations

import os
import shutil

from stylenorm import paths
from stylenorm.cli import run_stage
from stylenorm.segmentation import VARIANTS, build_config, train_segmenter


def train_seg(variant: str, params) -> dict:
    if params.base.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before CUDA initialises: keep MMEngine on the CPU
    model_dir, live_dir = paths.seg_dir(variant), paths.seg_live_dir(variant)
    if int(os.environ.get("RANK", "0")) == 0:
        for d in (model_dir, live_dir):
            shutil.rmtree(d, ignore_errors=True)
        model_dir.mkdir(parents=True)
    cfg = build_config(params.seg, variant, seed=params.base.seed, device=params.base.device,
                       num_workers=params.base.num_workers, work_dir=model_dir / "work", live_dir=live_dir)
    return {"model": str(train_segmenter(cfg, model_dir))}


def main() -> None:
    run_stage(__doc__, train_seg, ("variant", VARIANTS))

if __name__ == "__main__":
    main()
