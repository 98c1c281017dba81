"""Training one cell of the grid, (protocol, row, seed): what train_seg (a normalizer's row of a
protocol) and train_oracle (a domain's upper bound) share. What a cell trains on is its protocol's
(``stylenorm.protocols``) or, for an oracle, its domain's alone (``stylenorm.protocols.base.oracle_sets``);
scoring it is ``stylenorm.evaluation.evaluate_cell``."""
from __future__ import annotations

import os
import shutil

from stylenorm import paths
from stylenorm.study import is_main_process


def train_cell(protocol: str, row: str, seed: int, train_sources: list[dict], val_sources: list[dict], params,
               pair: tuple[str, str] | None = None) -> str:
    """Train the segmenter of cell (protocol, row, seed) on ``train_sources`` (``seg`` params,
    resumable from the cell's resume point: its ``pair``'s, or an oracle's with None); write models/seg/...,
    models/seg_live/...; return the model's path."""
    if params.base.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before CUDA initialises: keep MMEngine on the CPU
    from stylenorm.segmentation import build_config, train_segmenter
    model_dir = paths.seg_dir(protocol, row, seed)
    work_dir, live_dir = paths.seg_work_dir(protocol, row, seed, pair), paths.seg_live_dir(protocol, row, seed)
    if is_main_process():
        for d in (model_dir, live_dir):
            shutil.rmtree(d, ignore_errors=True)
    cfg = build_config(params.seg, train_sources=train_sources, val_sources=val_sources, seed=seed,
                       device=params.base.device, num_workers=params.base.num_workers, work_dir=work_dir,
                       live_dir=work_dir / "live")
    model = train_segmenter(cfg, model_dir)
    if is_main_process():
        shutil.copytree(work_dir / "live", live_dir)
    return str(model)
