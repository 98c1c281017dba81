"""Benchmark: CycleGAN train-step time on CPU (2 threads) beside the authors' implementation.

Prints seconds per ``optimize_parameters`` (the generators' forward, the G update and the D update)
on random 3-channel inputs in [-1, 1], fp32 and bf16, at two reference sizes and at the embedded
default. The yardsticks were measured elsewhere on this machine kind with the authors' code
(junyanz/pytorch-CycleGAN-and-pix2pix, ``--model cycle_gan``, 2 threads): 8.73 s/iteration at
ngf = ndf = 64, 256x256, batch 1, and 2.62 s/iteration at ngf = ndf = 32, 128x128, batch 4.
The machine's cores may be shared: the load average is printed before and after.

With ``--authors DIR`` (a folder holding the authors' ``models/`` and ``util/`` packages, as their
repository did before its 2025 DDP rework: ``BaseModel`` reads ``opt.gpu_ids``) it also times their
``CycleGANModel.optimize_parameters`` built with the reference options, alternating with ours on the
same inputs (ABBA order, so neither side always runs first), and prints the median of the paired
per-step ratios with their range: the same-run comparison the yardsticks above cannot give.

Run: python benchmarks/bench_cyclegan.py [--warmup 1] [--steps 3] [--only ref-256] [--precision fp32]
                                         [--channels-last] [--authors DIR [--only-compare]]
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import random
import subprocess
import sys
import time

import torch

from _paired import alternate, ours_against_authors
from stylenorm.normalizers.cyclegan.config import CycleGANFit
from stylenorm.normalizers.cyclegan.model import CycleGANModel

YARDSTICK = {"ref-256": 8.73, "ref-128": 2.62}
SETTINGS = {
    "ref-256": CycleGANFit(ngf=64, ndf=64, new_size=256, crop_size=256, batch_size=1),
    "ref-128": CycleGANFit(ngf=32, ndf=32, new_size=128, crop_size=128, batch_size=4),
    "embedded default": CycleGANFit(ngf=16, ndf=16, n_blocks=3, new_size=128, crop_size=96, batch_size=1,
                                    iterations=300, decay_iterations=150),
}


def load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: %.2f, %.2f, %.2f" % os.getloadavg()


def random_pair(cfg: CycleGANFit) -> tuple[torch.Tensor, torch.Tensor]:
    """real_A, real_B: (batch, 3, crop, crop) uniform in [-1, 1], the same for every model timed."""
    g = torch.Generator().manual_seed(0)
    return tuple(torch.rand(cfg.batch_size, 3, cfg.crop_size, cfg.crop_size, generator=g) * 2 - 1 for _ in "AB")


def step_time(cfg: CycleGANFit, warmup: int, steps: int) -> float:
    model = CycleGANModel(cfg, torch.device("cpu"), seed=0)
    a, b = random_pair(cfg)
    for _ in range(warmup):
        model.set_input(a, b)
        model.optimize_parameters()
    start = time.perf_counter()
    for _ in range(steps):
        model.set_input(a, b)
        model.optimize_parameters()
    return (time.perf_counter() - start) / steps


def authors_model(cfg: CycleGANFit, repo: str):
    """The authors' CycleGANModel from ``repo`` with the reference training options at ``cfg``'s sizes."""
    if repo not in sys.path:
        sys.path.insert(0, repo)
    module = importlib.import_module("models.cycle_gan_model")
    opt = argparse.Namespace(
        gpu_ids=[], isTrain=True, checkpoints_dir="/tmp", name="bench", preprocess="resize_and_crop",
        input_nc=3, output_nc=3, ngf=cfg.ngf, ndf=cfg.ndf, netG="resnet_9blocks", netD="basic", n_layers_D=3,
        norm="instance", no_dropout=True, init_type="normal", init_gain=cfg.init_gain, pool_size=cfg.pool_size,
        gan_mode="lsgan", lr=cfg.lr, beta1=cfg.beta1, lambda_A=cfg.lambda_A, lambda_B=cfg.lambda_B,
        lambda_identity=cfg.lambda_identity, direction="AtoB")
    return module.CycleGANModel(opt)


def n_params(*nets: torch.nn.Module) -> int:
    return sum(p.numel() for net in nets for p in net.parameters())


def compare_authors(cfg: CycleGANFit, repo: str, warmup: int, steps: int) -> dict:
    """This project's step against the authors' ``optimize_parameters`` on the same inputs, in ABBA order
    (authors first on even steps, ours first on odd ones): median s/iteration of each, the median and range
    of the per-step ratios ours / authors, and both parameter counts (the same networks: they must match)."""
    torch.manual_seed(0)
    random.seed(0)
    theirs = authors_model(cfg, repo)
    ours = CycleGANModel(cfg, torch.device("cpu"), seed=0)
    a, b = random_pair(cfg)
    batch = {"A": a, "B": b, "A_paths": [], "B_paths": []}

    def authors_step():
        theirs.set_input(batch)
        theirs.optimize_parameters()

    def our_step():
        ours.set_input(a, b)
        ours.optimize_parameters()

    times = alternate({"authors": authors_step, "ours": our_step}, warmup, steps)
    return {**ours_against_authors(times), "n_ours": n_params(ours.netG, ours.netD),
            "n_authors": n_params(theirs.netG_A, theirs.netG_B, theirs.netD_A, theirs.netD_B)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=list(SETTINGS), action="append", help="run only these settings")
    parser.add_argument("--precision", choices=["fp32", "bf16"], action="append", help="default: both")
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory format (ours)")
    parser.add_argument("--authors", metavar="DIR",
                        help="the authors' models/ and util/ packages: time their step beside ours (fp32)")
    parser.add_argument("--only-compare", action="store_true", help="with --authors: skip the fp32/bf16 table")
    args = parser.parse_args()
    if args.authors and not os.path.isfile(os.path.join(args.authors, "models", "cycle_gan_model.py")):
        parser.error(f"--authors {args.authors}: no models/cycle_gan_model.py there (give the authors' repository root)")
    torch.set_num_threads(args.threads)
    settings = {name: cfg for name, cfg in SETTINGS.items() if not args.only or name in args.only}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, channels_last={args.channels_last}")
    print(f"before: {load()}")
    if not (args.authors and args.only_compare):
        print(f"{'setting':<18}{'precision':<10}{'s/iteration':>12}{'authors*':>10}{'ratio':>7}")
        for name, cfg in settings.items():
            for precision in args.precision or ["fp32", "bf16"]:
                t = step_time(dataclasses.replace(cfg, precision=precision, channels_last=args.channels_last),
                              args.warmup, args.steps)
                ref = YARDSTICK.get(name)
                cols = f"{ref:>10.2f}{t / ref:>7.2f}" if ref else f"{'-':>10}{'-':>7}"
                print(f"{name:<18}{precision:<10}{t:>12.3f}{cols}", flush=True)
        print("* authors: measured elsewhere on this machine kind with the authors' code (fp32, 2 threads)")
    if args.authors:
        print(f"\nsame run, fp32, {args.steps} steps after {args.warmup} warm-up, ABBA order; ratio = median of "
              "the per-step ratios ours / authors [min, max]")
        print(f"{'setting':<18}{'ours':>8}{'authors':>9}{'ratio':>7}  {'range':<14}parameters (ours / authors)")
        for name, cfg in settings.items():
            if name not in YARDSTICK:
                continue
            r = compare_authors(dataclasses.replace(cfg, channels_last=args.channels_last), args.authors,
                                args.warmup, args.steps)
            print(f"{name:<18}{r['ours']:>8.3f}{r['authors']:>9.3f}{r['ratio']:>7.2f}  "
                  f"[{r['low']:.2f}, {r['high']:.2f}]  {r['n_ours']:,} / {r['n_authors']:,}", flush=True)
    print(f"after:  {load()}")


if __name__ == "__main__":
    main()
