"""Benchmark: the segmentation train step (precision and memory format), the pipeline's overhead over
MMSeg's own Runner, and evaluation throughput, on the embedded default's config and data.

(a) MMEngine's Runner with the resolved config as ``tools/train.py`` would run it (no custom
hooks); (b) the pipeline's ``train_seg`` path (the same Runner plus the seeding and DVCLive
hooks), each at fp32 / bf16 autocast / channels_last / both. Prints median seconds per
iteration after a warm-up, what one validation-loss pass costs, and test images per second
for ``evaluate``. Needs the data stages' outputs and normalize@identity-0 (``dvc repro normalize@identity-0``).

Run: python benchmarks/bench_seg.py [--iters 30] [--warmup 5] [--eval-images 40]
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from mmengine.runner import Runner

from stylenorm import paths
from stylenorm.config import load_params
from stylenorm.segmentation import build_config, load_segmenter, predict, train_segmenter
from stylenorm.protocols.mixed import Mixed


def iteration_times(cfg) -> tuple[np.ndarray, Runner]:
    runner = Runner.from_cfg(cfg)
    runner.train()
    return np.asarray(runner.message_hub.get_scalar("train/time").data[0]), runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--eval-images", type=int, default=40)
    args = parser.parse_args()
    params = load_params()
    print(f"load average (1, 5, 15 min): {os.getloadavg()}; torch threads {torch.get_num_threads()}")
    medians = {}
    with tempfile.TemporaryDirectory() as tmp:
        def cfg_for(name, **seg_changes):
            seg = dataclasses.replace(params.seg, iterations=args.iters, val_loss_every=10**9, log_every=10,
                                      checkpoint_every=10**9, **seg_changes)
            return build_config(seg, train_sources=Mixed().train_sources("identity", 0, "train"),
                                val_sources=Mixed().train_sources("identity", 0, "val"), seed=0, device=params.base.device,
                                num_workers=params.base.num_workers, work_dir=Path(tmp) / name,
                                live_dir=Path(tmp) / name / "live")
        stock = cfg_for("stock", precision="fp32", channels_last=False)
        stock.custom_hooks = []
        times, _ = iteration_times(stock)
        medians["MMSeg Runner (stock), fp32"] = float(np.median(times[args.warmup:]))
        for precision in ("fp32", "bf16"):
            for cl in (False, True):
                name = f"pipeline, {precision}{', channels_last' if cl else ''}"
                times, runner = iteration_times(cfg_for(name.replace(" ", "_").replace(",", ""), precision=precision,
                                                        channels_last=cl))
                medians[name] = float(np.median(times[args.warmup:]))
        hook = [h for h in runner.hooks if type(h).__name__ == "LossLogHook"][0]
        start = time.perf_counter()
        hook.val_loss(runner)
        val_loss_s = time.perf_counter() - start
        # evaluation throughput of a briefly trained model (fp32 and bf16 inference)
        cfg = cfg_for("evalmodel", precision="fp32", channels_last=False)
        cfg.train_cfg["max_iters"] = 2
        model = load_segmenter(Path(train_segmenter(cfg, Path(tmp) / "evalmodel_out")).parent, "cpu")
        images = paths.split_image_paths("cityscapes", "test")[: args.eval_images]
        eval_rate = {}
        for precision in ("fp32", "bf16"):
            predict(model, images[0], precision)
            start = time.perf_counter()
            for p in images:
                predict(model, p, precision)
            eval_rate[precision] = len(images) / (time.perf_counter() - start)
    base = medians["MMSeg Runner (stock), fp32"]
    print(f"\nconfig {params.seg.config}, batch {params.seg.batch_size}, crop {tuple(params.seg.crop_size)}, {args.iters} iterations")
    for name, value in medians.items():
        print(f"  {name:<36}{value:8.3f} s/iteration (median)   x{base / value:4.2f} vs stock fp32")
    fp32 = medians["pipeline, fp32"]
    print(f"  pipeline overhead at fp32           {100 * (fp32 - base) / base:+7.1f} %   (target <= 5%)")
    print(f"  one val-loss pass                   {val_loss_s:8.2f} s on {params.seg.val_loss_images or 'all'} pooled val "
          f"images (every {params.seg.val_loss_every} iterations: {100 * val_loss_s / (params.seg.val_loss_every * fp32):.1f}% of training)")
    for precision, rate in eval_rate.items():
        print(f"  evaluate, {precision} inference           {rate:8.1f} test images/s (Cityscapes-like, {len(images)} images)")


if __name__ == "__main__":
    main()
