"""Benchmark: the pipeline's segmentation train step vs MMSeg's own Runner on the same config and data.

(a) MMEngine's Runner with the resolved config as ``tools/train.py`` would run it (no custom
hooks); (b) the pipeline's ``train_seg`` path (the same Runner plus the DVCLive loss hook).
Prints the median seconds per iteration after a warm-up and the overhead of (b) over (a),
plus what one pooled test-loss evaluation costs (the study's Fig. 4; every seg.test_loss_every
iterations). Needs the data stages' outputs (``dvc repro split``).

Run: python benchmarks/bench_seg.py [--iters 40] [--warmup 5]
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
from mmengine.runner import Runner

from stylenorm.config import load_params
from stylenorm.segmentation import build_config


def iteration_times(cfg) -> tuple[np.ndarray, Runner]:
    runner = Runner.from_cfg(cfg)
    runner.train()
    return np.asarray(runner.message_hub.get_scalar("train/time").data[0]), runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--variant", default="baseline")
    args = parser.parse_args()
    params = load_params()
    seg = dataclasses.replace(params.seg, iterations=args.iters, test_loss_every=10**9, log_every=10)
    medians = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = build_config(seg, args.variant, seed=0, device=params.base.device, num_workers=params.base.num_workers,
                           work_dir=Path(tmp) / "w", live_dir=Path(tmp) / "live")
        stock = copy.deepcopy(base)
        stock.custom_hooks = []
        for name, cfg in (("MMSeg Runner (stock)", stock), ("pipeline train_seg", base)):
            times, runner = iteration_times(cfg)
            medians[name] = float(np.median(times[args.warmup:]))
        hook = [h for h in runner.hooks if type(h).__name__ == "LossLogHook"][0]
        start = time.perf_counter()
        hook.test_loss(runner)
        test_loss_s = time.perf_counter() - start
    a, b = medians["MMSeg Runner (stock)"], medians["pipeline train_seg"]
    print(f"\nconfig {params.seg.config}, batch {seg.batch_size}, crop {tuple(seg.crop_size)}, {args.iters} iterations")
    for name, value in medians.items():
        print(f"  {name:<24}{value:8.3f} s/iteration (median)")
    print(f"  overhead                {100 * (b - a) / a:+7.1f} %   (target <= 5%)")
    print(f"  one test-loss pass      {test_loss_s:8.2f} s on {seg.test_loss_images or 'all'} pooled test images "
          f"(every {params.seg.test_loss_every} iterations: {100 * test_loss_s / (params.seg.test_loss_every * b):.1f}% of training)")


if __name__ == "__main__":
    main()
