"""Benchmark: MUNIT train-step time on CPU (2 threads), ours alone and beside the authors' code.

Prints seconds per ``optimize_parameters`` (one generator forward, the G update, the D update, the
schedules) on random 3-channel inputs in [-1, 1] at the authors' networks (gen dim 64, style_dim 8,
n_res 4, mlp_dim 256; dis dim 64, n_layer 4, 3 scales: configs/edges2handbags_folder.yaml) at 256 px and
128 px, batch 1, and at the embedded default (params.yaml's munit.fit). The machine's cores may be
shared: the load average is printed before and after.

With ``--authors DIR`` (a checkout of NVlabs/MUNIT: ``trainer.py``, ``networks.py``, ``utils.py``) it also
times their ``MUNIT_Trainer`` update as their ``train.py`` runs it (``dis_update``, ``gen_update``,
``update_learning_rate``) at the same options (vgg_w 0, recon_x_cyc_w 0, lsgan), alternating with ours on
the same inputs (ABBA order, so neither side always runs first), and prints the median of the paired
per-step ratios ours / authors with their range, and both parameter counts (equal networks: they must
match). Their files are not edited; two shims, for today's torch on a CPU, live here: ``Tensor.cuda``
returns the tensor itself while their code runs (they call ``.cuda()`` on fresh noise), and an empty
``torch.utils.serialization`` module stands in for the one torch 1.0 removed (their ``utils.py`` imports
``load_lua`` from it, used only to convert VGG weights, which vgg_w 0 never loads).

Run: python benchmarks/bench_munit.py [--warmup 1] [--steps 3] [--only authors-128] [--authors DIR]
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import os
import statistics
import subprocess
import sys
import types

import torch
import yaml

from _paired import alternate, ours_against_authors
from stylenorm.config import from_dict
from stylenorm.normalizers.munit.config import MUNITFit
from stylenorm.normalizers.munit.model import MUNITModel


def embedded_default() -> MUNITFit:
    """params.yaml's munit.fit, as the fit stage loads it."""
    with open("params.yaml") as f:
        return from_dict(MUNITFit, yaml.safe_load(f)["munit"]["fit"], "munit.fit")


def authors_settings(crop: int) -> MUNITFit:
    """The authors' edges2handbags options (gen, dis, losses, Adam, step schedule) at ``crop`` px, batch 1."""
    base = embedded_default()
    return dataclasses.replace(
        base, gen=dataclasses.replace(base.gen, dim=64, style_dim=8, n_downsample=2, n_res=4, mlp_dim=256, activ="relu",
                                      pad_type="reflect"),
        dis=dataclasses.replace(base.dis, dim=64, n_layer=4, num_scales=3),
        loss=dataclasses.replace(base.loss, gan_w=1.0, recon_x_w=10.0, recon_s_w=1.0, recon_c_w=1.0, recon_x_cyc_w=0.0),
        lr=1e-4, beta1=0.5, beta2=0.999, weight_decay=1e-4, lr_step_size=100000, lr_gamma=0.5, new_size=crop,
        crop_size=crop, batch_size=1, precision="fp32", channels_last=False)


SETTINGS = {"authors-256": lambda: authors_settings(256), "authors-128": lambda: authors_settings(128),
            "embedded default": embedded_default}


def load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: %.2f, %.2f, %.2f" % os.getloadavg()


def random_pair(cfg: MUNITFit) -> tuple[torch.Tensor, torch.Tensor]:
    """real_A, real_B: (batch, 3, crop, crop) uniform in [-1, 1], the same for every model timed."""
    g = torch.Generator().manual_seed(0)
    return tuple(torch.rand(cfg.batch_size, 3, cfg.crop_size, cfg.crop_size, generator=g) * 2 - 1 for _ in "AB")


def n_params(*nets: torch.nn.Module) -> int:
    return sum(p.numel() for net in nets for p in net.parameters())


def our_step(cfg: MUNITFit):
    model = MUNITModel(cfg, torch.device("cpu"), seed=0)
    a, b = random_pair(cfg)

    def step():
        model.set_input(a, b)
        model.optimize_parameters()
    return model, step


@contextlib.contextmanager
def authors_shims():
    """Their code on today's torch and a CPU: ``.cuda()`` is the identity, and ``torch.utils.serialization``
    (removed in torch 1.0; their utils.py imports ``load_lua`` from it for VGG conversion) is an empty stand-in."""
    cuda = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    if "torch.utils.serialization" not in sys.modules:
        stub = types.ModuleType("torch.utils.serialization")
        stub.load_lua = None
        sys.modules["torch.utils.serialization"] = stub
    try:
        yield
    finally:
        torch.Tensor.cuda = cuda


def authors_hyperparameters(cfg: MUNITFit) -> dict:
    """Their config dict (configs/*.yaml keys) at ``cfg``'s values."""
    g, d, w = cfg.gen, cfg.dis, cfg.loss
    return {"input_dim_a": 3, "input_dim_b": 3, "display_size": 1, "lr": cfg.lr, "beta1": cfg.beta1, "beta2": cfg.beta2,
            "weight_decay": cfg.weight_decay, "init": "kaiming", "lr_policy": "step", "step_size": cfg.lr_step_size,
            "gamma": cfg.lr_gamma, "gan_w": w.gan_w, "recon_x_w": w.recon_x_w, "recon_s_w": w.recon_s_w,
            "recon_c_w": w.recon_c_w, "recon_x_cyc_w": w.recon_x_cyc_w, "vgg_w": 0,
            "gen": {"dim": g.dim, "mlp_dim": g.mlp_dim, "style_dim": g.style_dim, "activ": g.activ,
                    "n_downsample": g.n_downsample, "n_res": g.n_res, "pad_type": g.pad_type},
            "dis": {"dim": d.dim, "norm": "none", "activ": "lrelu", "n_layer": d.n_layer, "gan_type": "lsgan",
                    "num_scales": d.num_scales, "pad_type": g.pad_type}}


def authors_step(cfg: MUNITFit, repo: str):
    """Their MUNIT_Trainer at ``cfg``'s options and their train.py's update on the same inputs as ours."""
    if repo not in sys.path:
        sys.path.insert(0, repo)
    hp = authors_hyperparameters(cfg)
    with authors_shims():
        trainer = importlib.import_module("trainer").MUNIT_Trainer(hp)
    a, b = random_pair(cfg)

    def step():
        with authors_shims():
            trainer.dis_update(a, b, hp)
            trainer.gen_update(a, b, hp)
            trainer.update_learning_rate()
    return trainer, step


def compare_authors(cfg: MUNITFit, repo: str, warmup: int, steps: int) -> dict:
    torch.manual_seed(0)
    theirs, their_step = authors_step(cfg, repo)
    ours, mine = our_step(cfg)
    times = alternate({"authors": their_step, "ours": mine}, warmup, steps)
    return {**ours_against_authors(times), "n_ours": n_params(ours.netG, ours.netD),
            "n_authors": n_params(theirs.gen_a, theirs.gen_b, theirs.dis_a, theirs.dis_b)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=list(SETTINGS), action="append", help="run only these settings")
    parser.add_argument("--authors", metavar="DIR", help="a checkout of NVlabs/MUNIT: time its update beside ours")
    args = parser.parse_args()
    if args.authors and not os.path.isfile(os.path.join(args.authors, "trainer.py")):
        parser.error(f"--authors {args.authors}: no trainer.py there (give the root of a NVlabs/MUNIT checkout)")
    torch.set_num_threads(args.threads)
    settings = {name: make() for name, make in SETTINGS.items() if not args.only or name in args.only}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, fp32")
    print(f"before: {load()}")
    if args.authors:
        print(f"same run, {args.steps} steps after {args.warmup} warm-up, ABBA order; ratio = median of the per-step "
              "ratios ours / authors [min, max]")
        print(f"{'setting':<18}{'ours':>8}{'authors':>9}{'ratio':>7}  {'range':<14}parameters (ours / authors)")
    else:
        print(f"{'setting':<18}{'s/iteration':>12}  parameters")
    for name, cfg in settings.items():
        if args.authors:
            r = compare_authors(cfg, args.authors, args.warmup, args.steps)
            print(f"{name:<18}{r['ours']:>8.3f}{r['authors']:>9.3f}{r['ratio']:>7.2f}  "
                  f"[{r['low']:.2f}, {r['high']:.2f}]  {r['n_ours']:,} / {r['n_authors']:,}", flush=True)
        else:
            model, step = our_step(cfg)
            t = alternate({"ours": step}, args.warmup, args.steps)["ours"]
            print(f"{name:<18}{statistics.median(t):>12.3f}  {n_params(model.netG, model.netD):,}", flush=True)
    print(f"after:  {load()}")


if __name__ == "__main__":
    main()
