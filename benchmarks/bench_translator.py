"""Benchmark: UNIT train-step time and translate throughput, at the embedded default and paper sizes.

Prints seconds per training iteration (one generator + one discriminator update) and
translated images per second, on CPU and, when one is present, on a CUDA GPU. The
yardsticks are NOT produced by this script: they are the authors' public implementation,
measured elsewhere on this machine kind, timed back to back with this project on one quiet
machine (2 threads, fp32): 1.015 s/iteration at width 16, 2 residual blocks, 128 px crops,
batch 4, and 12.40 s/iteration at their 256 px GTA->Cityscapes settings (width 64, 4
residual blocks, discriminators 64 wide with 4 layers at 3 scales, batch 1). In that same
run this project took 0.88 s and 11.67 s (fp32). The goal: 0.8x of theirs or less in fp32.

Run: python benchmarks/bench_translator.py [--steps 3] [--skip-paper]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np
import torch
from PIL import Image

from stylenorm.components import load_params
from stylenorm.translators.translate import translate_batch
from stylenorm.normalizers.unit.model import UNITModel

YARDSTICK = {"authors-128": 1.015, "authors-256": 12.40}  # measured elsewhere (see the docstring), fp32


def settings(base):
    """name -> translator config."""
    def with_(cfg, gen=None, dis=None, **kw):
        return dataclasses.replace(cfg, gen=dataclasses.replace(cfg.gen, **(gen or {})),
                                   dis=dataclasses.replace(cfg.dis, **(dis or {})), **kw)
    return {
        "embedded default": base,
        "authors-128": with_(base, gen=dict(dim=16, n_res=2), dis=dict(dim=16, n_layer=4, num_scales=3),
                             crop_size=128, new_size=128, batch_size=4),
        "authors-256": with_(base, gen=dict(dim=64, n_res=4), dis=dict(dim=64, n_layer=4, num_scales=3),
                             crop_size=256, new_size=256, batch_size=1),
        "paper-512": with_(base, gen=dict(dim=64, n_res=4), dis=dict(dim=64, n_layer=4, num_scales=3),
                           crop_size=512, new_size=512, batch_size=1),
    }


def step_time(cfg, device, steps: int) -> float:
    model = UNITModel(cfg, device, seed=0)
    a = torch.rand(cfg.batch_size, 3, cfg.crop_size, cfg.crop_size) * 2 - 1
    b = torch.rand_like(a) * 2 - 1
    model.set_input(a, b)
    model.optimize_parameters()  # warm-up
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        model.set_input(a, b)
        model.optimize_parameters()
    sync()
    return (time.perf_counter() - start) / steps


def translate_rate(cfg, device, size, new_size: int, n: int) -> float:
    model = UNITModel(cfg, device, seed=0)
    netG = model.netG.eval()
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    kw = dict(new_size=new_size, upsample="bicubic", full_resolution=False, device=device, n_down=cfg.gen.n_downsample)
    translate_batch(netG, [img], **kw)
    start = time.perf_counter()
    for _ in range(n):
        translate_batch(netG, [img], **kw)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--skip-paper", action="store_true", help="skip the 256/512 px settings (slow on CPU)")
    args = parser.parse_args()
    params = load_params()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
          + (f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""))
    print(f"load average (1, 5, 15 min): {os.getloadavg()}")
    unit_fit, unit_apply = params.normalizer("unit").fit, params.normalizer("unit").apply
    print(f"{'setting':<18}{'device':<7}{'precision':<10}{'s/iteration':>12}{'authors (elsewhere)':>21}{'ratio':>7}")
    for name, cfg in settings(unit_fit).items():
        if args.skip_paper and name in ("authors-256", "paper-512"):
            continue
        for device in devices:
            for precision in ("fp32", "bf16"):
                steps = args.steps if device.type == "cuda" or cfg.crop_size <= 128 else 1
                t = step_time(dataclasses.replace(cfg, precision=precision), device, steps)
                known = name in YARDSTICK and device.type == "cpu"
                ref = f"{YARDSTICK[name]:.3f}" if known else "-"
                ratio = f"{t / YARDSTICK[name]:.2f}x" if known else ""
                print(f"{name:<18}{device.type:<7}{precision:<10}{t:>12.3f}{ref:>21}{ratio:>7}", flush=True)
    print(f"\n{'translate':<34}{'device':<7}{'images/s':>9}")
    cases = [("embedded 478x263 -> short side 128", unit_fit, (478, 263), unit_apply.new_size, 20)]
    if not args.skip_paper:
        cases.append(("paper 1914x1052 -> short side 512", settings(unit_fit)["paper-512"], (1914, 1052), 512, 2))
    for label, cfg, size, new_size, n in cases:
        for device in devices:
            rate = translate_rate(dataclasses.replace(cfg, precision="fp32"), device, size, new_size,
                                  n * (10 if device.type == "cuda" else 1))
            print(f"{label:<34}{device.type:<7}{rate:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
