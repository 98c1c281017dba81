"""Stage ``train_seg``: one cell of the grid: a segmenter on Cityscapes train + normalized GTA5 train.

Reads   params ``base``, ``study.fit_seeds``, ``seg``; the config ``seg.config`` (configs/, MMSeg
        _base_ composition); raw Cityscapes train and val images; GTA5 train and val images after the
        normalizer (data/normalized/<normalizer>/seed<fit seed>/gta5); unified labels; split lists.
Writes  models/seg/<normalizer>/seed<seed>/{model.pth, config.py}; models/seg_live/<normalizer>/seed<seed>/
        (DVCLive: training loss and the validation loss per interval);
        models/seg_work/<normalizer>/seed<seed>/ (MMEngine work_dir and resume checkpoint, kept between runs).
Run     python -m stages.train_seg <normalizer> <seed>
        torchrun --nproc_per_node=4 -m stages.train_seg identity 0   # several GPUs (MMEngine DDP)
A killed run resumes from its last checkpoint on the next ``dvc repro`` (same weights at the end).
"""
from __future__ import annotations

import os
import shutil

from stylenorm import paths
from stylenorm.cli import run_stage
from stylenorm.study import is_main_process, seg_sources


def train_seg(name: str, seed: int, params) -> dict:
    if params.base.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before CUDA initialises: keep MMEngine on the CPU
    from stylenorm.segmentation import build_config, train_segmenter
    if name not in params.normalizers:
        params.normalizer(name)  # the error naming the known sections
    fit_seed = params.study.fit_seed(seed)
    model_dir, work_dir, live_dir = paths.seg_dir(name, seed), paths.seg_work_dir(name, seed), paths.seg_live_dir(name, seed)
    if is_main_process():
        for d in (model_dir, live_dir):
            shutil.rmtree(d, ignore_errors=True)
    cfg = build_config(params.seg, train_sources=seg_sources(name, fit_seed, "train"),
                       val_sources=seg_sources(name, fit_seed, "val"), seed=seed, device=params.base.device,
                       num_workers=params.base.num_workers, work_dir=work_dir, live_dir=work_dir / "live")
    model = train_segmenter(cfg, model_dir)
    if is_main_process():
        shutil.copytree(work_dir / "live", live_dir)
    return {"model": str(model), "fit_seed": fit_seed}


def main() -> None:
    run_stage(__doc__, train_seg, ("normalizer", str), ("seed", int))

if __name__ == "__main__":
    main()
