"""Benchmark: CycleGAN train-step time on CPU (2 threads) beside the authors' implementation.

Prints seconds per ``optimize_parameters`` (the generators' forward, the G update and the D update)
on random 3-channel inputs in [-1, 1], fp32 and bf16, at two reference sizes and at the embedded
default. The yardsticks were measured elsewhere on this machine kind with the authors' code
(junyanz/pytorch-CycleGAN-and-pix2pix, ``--model cycle_gan``, 2 threads): 8.73 s/iteration at
ngf = ndf = 64, 256x256, batch 1, and 2.62 s/iteration at ngf = ndf = 32, 128x128, batch 4.
The machine's cores may be shared: the load average is printed before and after.

With ``--authors DIR`` (a checkout of the authors' repository, or any folder with its ``models/`` and
``util/`` packages) it also times their ``CycleGANModel.optimize_parameters`` built with the reference
options, step by step alternating with ours on the same inputs, so both see the same machine load:
the same-run comparison the yardsticks above cannot give.

Run: python benchmarks/bench_cyclegan.py [--warmup 1] [--steps 3] [--only ref-256] [--channels-last]
                                         [--authors DIR]
"""
from __future__ import annotations

import argparse
import importlib
import random
import sys
import dataclasses
import os
import subprocess
import statistics
import time

import torch
import torch.nn.functional as F

from stylenorm.translators.cyclegan import CycleGANFit, CycleGANModel
from stylenorm.translators.unit import set_requires_grad

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


def step_time(cfg: CycleGANFit, warmup: int, steps: int) -> float:
    model = CycleGANModel(cfg, torch.device("cpu"), seed=0)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(cfg.batch_size, 3, cfg.crop_size, cfg.crop_size, generator=g) * 2 - 1
    b = torch.rand(cfg.batch_size, 3, cfg.crop_size, cfg.crop_size, generator=g) * 2 - 1
    for _ in range(warmup):
        model.set_input(a, b)
        model.optimize_parameters()
    start = time.perf_counter()
    for _ in range(steps):
        model.set_input(a, b)
        model.optimize_parameters()
    return (time.perf_counter() - start) / steps


def reference_order_step(model: CycleGANModel) -> None:
    """One iteration in the authors' call order, on ``model``'s networks, optimisers and pools: the four
    forward passes, then the identity passes inside the G update, then each D on reals and on fakes in
    separate calls with separate backward passes (LSGAN, instance norm: the reference defaults).
    An emulation for an interleaved comparison under the same load, not the authors' code."""
    c, G, D, gan = model.cfg, model.netG, model.netD, model.gan_loss
    real_A, real_B = model.real_A, model.real_B
    fake_B = G.netG_A(real_A)
    rec_A = G.netG_B(fake_B)
    fake_A = G.netG_B(real_B)
    rec_B = G.netG_A(fake_A)
    set_requires_grad(D, False)
    model.optimizer_G.zero_grad()
    idt_A = G.netG_A(real_B)
    idt_B = G.netG_B(real_A)
    loss_G = (gan(D.netD_A(fake_B), True) + gan(D.netD_B(fake_A), True)
              + c.lambda_A * F.l1_loss(rec_A, real_A) + c.lambda_B * F.l1_loss(rec_B, real_B)
              + c.lambda_identity * (c.lambda_B * F.l1_loss(idt_A, real_B) + c.lambda_A * F.l1_loss(idt_B, real_A)))
    loss_G.backward()
    model.optimizer_G.step()
    set_requires_grad(D, True)
    model.optimizer_D.zero_grad()
    for netD, pool, real, fake in ((D.netD_A, model.fake_B_pool, real_B, fake_B), (D.netD_B, model.fake_A_pool, real_A, fake_A)):
        fake = pool.query(fake)
        loss_D = 0.5 * (gan(netD(real), True) + gan(netD(fake.detach()), False))
        loss_D.backward()
    model.optimizer_D.step()


def compare(cfg: CycleGANFit, warmup: int, steps: int) -> tuple[float, float]:
    """Median s/iteration of this project's step and of the reference-order step, alternating step by
    step so that both see the same machine load."""
    ours, ref = CycleGANModel(cfg, torch.device("cpu"), seed=0), CycleGANModel(cfg, torch.device("cpu"), seed=0)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(cfg.batch_size, 3, cfg.crop_size, cfg.crop_size, generator=g) * 2 - 1
    b = torch.rand(cfg.batch_size, 3, cfg.crop_size, cfg.crop_size, generator=g) * 2 - 1
    times: dict[str, list[float]] = {"ours": [], "ref": []}
    for i in range(warmup + steps):
        for name, model, step in (("ref", ref, reference_order_step), ("ours", ours, CycleGANModel.optimize_parameters)):
            model.set_input(a, b)
            start = time.perf_counter()
            step(model)
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return statistics.median(times["ours"]), statistics.median(times["ref"])


def authors_model(cfg: CycleGANFit, repo: str):
    """The authors' CycleGANModel from ``repo`` with the reference training options at ``cfg``'s sizes."""
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


def compare_authors(cfg: CycleGANFit, repo: str, warmup: int, steps: int) -> tuple[float, float, int, int]:
    """Median s/iteration of this project's step and of the authors' ``optimize_parameters``, alternating
    step by step on the same inputs; and both models' parameter counts (the same networks: they must match)."""
    torch.manual_seed(0)
    random.seed(0)
    theirs = authors_model(cfg, repo)
    ours = CycleGANModel(cfg, torch.device("cpu"), seed=0)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(cfg.batch_size, 3, cfg.crop_size, cfg.crop_size, generator=g) * 2 - 1
    b = torch.rand(cfg.batch_size, 3, cfg.crop_size, cfg.crop_size, generator=g) * 2 - 1
    batch = {"A": a, "B": b, "A_paths": [], "B_paths": []}
    times: dict[str, list[float]] = {"ours": [], "authors": []}
    for i in range(warmup + steps):
        start = time.perf_counter()
        theirs.set_input(batch)
        theirs.optimize_parameters()
        mid = time.perf_counter()
        ours.set_input(a, b)
        ours.optimize_parameters()
        end = time.perf_counter()
        if i >= warmup:
            times["authors"].append(mid - start)
            times["ours"].append(end - mid)
    counts = (n_params(ours.netG, ours.netD),
              n_params(theirs.netG_A, theirs.netG_B, theirs.netD_A, theirs.netD_B))
    return statistics.median(times["ours"]), statistics.median(times["authors"]), *counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=list(SETTINGS), action="append", help="run only these settings")
    parser.add_argument("--precision", choices=["fp32", "bf16"], action="append", help="default: both")
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    parser.add_argument("--compare", action="store_true",
                        help="also time the reference call order on the same networks, interleaved (fp32)")
    parser.add_argument("--authors", metavar="DIR",
                        help="the authors' repository: time their step beside ours, interleaved (fp32)")
    parser.add_argument("--only-compare", action="store_true", help="skip the fp32/bf16 table")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, channels_last={args.channels_last}")
    print(f"before: {load()}")
    print(f"{'setting':<18}{'precision':<10}{'s/iteration':>12}{'authors*':>10}{'ratio':>7}")
    for name, cfg in SETTINGS.items():
        if args.only and name not in args.only or args.only_compare:
            continue
        for precision in args.precision or ["fp32", "bf16"]:
            t = step_time(dataclasses.replace(cfg, precision=precision, channels_last=args.channels_last),
                          args.warmup, args.steps)
            ref = YARDSTICK.get(name)
            cols = f"{ref:>10.2f}{t / ref:>7.2f}" if ref else f"{'-':>10}{'-':>7}"
            print(f"{name:<18}{precision:<10}{t:>12.3f}{cols}", flush=True)
    if args.compare:
        print(f"\n{'interleaved, fp32':<18}{'ours':>8}{'ref-order':>11}{'ratio':>7}")
        for name, cfg in SETTINGS.items():
            if args.only and name not in args.only:
                continue
            ours, ref = compare(dataclasses.replace(cfg, channels_last=args.channels_last), args.warmup, args.steps)
            print(f"{name:<18}{ours:>8.3f}{ref:>11.3f}{ours / ref:>7.2f}", flush=True)
    if args.authors:
        print(f"\n{'same run, fp32':<18}{'ours':>8}{'authors':>9}{'ratio':>7}   parameters (ours / authors)")
        for name, cfg in SETTINGS.items():
            if args.only and name not in args.only or name not in YARDSTICK:
                continue
            ours, theirs, n_ours, n_theirs = compare_authors(
                dataclasses.replace(cfg, channels_last=args.channels_last), args.authors, args.warmup, args.steps)
            print(f"{name:<18}{ours:>8.3f}{theirs:>9.3f}{ours / theirs:>7.2f}   {n_ours:,} / {n_theirs:,}", flush=True)
    print(f"after:  {load()}")
    print("* authors: measured elsewhere on this machine kind with the authors' code (fp32, 2 threads)")


if __name__ == "__main__":
    main()
