"""Benchmark: the paper profile's steps on a GPU, and what they make of the paper's whole grid.

Run in a project folder whose params.yaml is the paper profile and whose data stages have run
(scripts/gpu/check.sh prepares one from embedded scenes at full size), on a CUDA machine:

* ``seg``: DeepLabv3+ training iterations at the profile's config, crop and batch, through this
  pipeline (``build_config``: seeded draws, DVCLive hooks, the profile's memory format) and through
  MMSeg's stock Runner (the same config without the pipeline's hooks, as ``tools/train.py`` runs
  it; bf16 there is MMEngine's ``AmpOptimWrapper``), runs alternating S P S P, fp32 and bf16:
  median seconds per iteration (IterTimerHook, data time included) and the pipeline / stock ratio.
* ``translators``: UNIT's and CycleGAN's training step (``optimize_parameters``) at the profile's
  ``fit`` settings on random inputs, fp32 and bf16, and UNIT's translation rate at the profile's
  ``apply`` size on a full-size GTA5-like frame.
* ``evaluate``: test images per second of ``evaluate``'s ``predict`` at the profile's test scale
  (full resolution), fp32 and bf16 inference, on a randomly initialised network (speed does not
  depend on the weights).
* ``matmul``: a large fp32 and bf16 matrix product, the card's practical ceiling, in the same run.

Every section prints as it goes; ``--json`` collects the figures, ``--write-md`` renders them (with
the card, the commit and an estimate of the paper's grid on one and on eight GPUs) for docs/gpu.md.
``--render JSON`` re-renders a committed JSON without a GPU.

Run: python benchmarks/bench_gpu.py [--sections matmul,translators,evaluate,seg] [--iters 12] [--warmup 4]
                                     [--eval-images 20] [--json F] [--write-md F] [--commit SHA]
     python benchmarks/bench_gpu.py --render results/gpu_check.json --write-md results/gpu_check.md
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

SECTIONS = ("matmul", "translators", "evaluate", "seg")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--iters", type=int, default=12, help="segmenter iterations per run (>= warmup + 2)")
    parser.add_argument("--warmup", type=int, default=4, help="leading iterations of each run not counted")
    parser.add_argument("--rounds", type=int, default=2, help="S P alternations per precision")
    parser.add_argument("--cudnn-benchmark", action="store_true",
                        help="let cuDNN autotune (the configs' default): each new shape, format and precision then costs "
                             "minutes of warm-up on R101-D8 (107 s for 12 iterations on an H200), so the bench turns it off")
    parser.add_argument("--steps", type=int, default=10, help="timed translator steps (after 3 warm-up steps)")
    parser.add_argument("--eval-images", type=int, default=20, help="test images timed per precision")
    parser.add_argument("--pairs-per-domain", type=int, help="the estimate's data size (default: data.n_per_domain)")
    parser.add_argument("--matmul-n", type=int, default=8192, help="side of the timed square matrix product")
    parser.add_argument("--device", default="cuda", help="torch device [cuda | cpu] (cpu: smoke runs only)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--write-md", type=Path, help="write the rendered figures here (markdown)")
    parser.add_argument("--commit", default="", help="the commit measured, recorded in the outputs")
    parser.add_argument("--label", help="the command to record as the figures' source (default: this one's)")
    parser.add_argument("--render", type=Path, help="render this JSON (no measurement)")
    args = parser.parse_args(argv)
    args.sections = [s for s in args.sections.split(",") if s]
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"--sections: unknown {unknown}; choose from {list(SECTIONS)}")
    if args.iters < args.warmup + 2:
        parser.error(f"--iters {args.iters} leaves fewer than 2 timed iterations after --warmup {args.warmup}")
    if args.render is None and args.write_md is None and args.json is None:
        parser.error("nothing to write: give --json and/or --write-md")
    return args


def sync(device) -> None:
    import torch
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def seconds_per_call(fn, device, warmup: int, calls: int) -> float:
    """Mean seconds of ``fn()`` over ``calls`` calls after ``warmup`` untimed ones, the device synchronised."""
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    sync(device)
    return (time.perf_counter() - start) / calls


def matmul_tflops(device, n: int = 8192, reps: int = 10) -> dict:
    import torch
    out = {}
    for dtype in (torch.float32, torch.bfloat16):
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        out[str(dtype).split(".")[-1]] = 2 * n**3 / seconds_per_call(lambda: a @ b, device, 3, reps) / 1e12
        del a, b
    return {"n": n, "tflops": out, "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32}


def translators(params, device, steps: int) -> dict:
    import numpy as np
    import torch
    from PIL import Image

    from stylenorm.normalizers.cyclegan.model import CycleGANModel
    from stylenorm.translators.translate import translate_batch
    from stylenorm.normalizers.unit.model import UNITModel
    out = {}
    for name, model_cls in (("unit", UNITModel), ("cyclegan", CycleGANModel)):
        fit = params.normalizer(name).fit
        g = torch.Generator().manual_seed(0)
        batch = tuple(torch.rand(fit.batch_size, 3, fit.crop_size, fit.crop_size, generator=g) * 2 - 1 for _ in "AB")
        for precision in ("fp32", "bf16"):
            cfg = dataclasses.replace(fit, precision=precision)
            model = model_cls(cfg, torch.device(device), seed=0)
            n_params = sum(p.numel() for net in (model.netG, model.netD) for p in net.parameters())
            def step():
                model.set_input(*batch)
                model.optimize_parameters()
            s = seconds_per_call(step, device, 3, steps)
            out[f"{name} {precision}"] = dict(s_per_step=s, crop=fit.crop_size, batch=fit.batch_size,
                                              params=n_params, iterations=fit.iterations)
            print(f"  {name:<9}{precision:<6} crop {fit.crop_size} batch {fit.batch_size}: {s:.4f} s/step "
                  f"({1 / s:.1f} it/s), {n_params:,} parameters", flush=True)
            del model
            gc.collect()
    # translation of one full-size GTA5-like frame at the profile's apply size (fp32, as normalize runs)
    unit = params.normalizer("unit")
    model = UNITModel(dataclasses.replace(unit.fit, precision="fp32"), torch.device(device), seed=0)
    netG = model.netG.eval()
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (1052, 1914, 3), dtype=np.uint8))
    kw = dict(new_size=unit.apply.new_size, upsample=unit.apply.upsample, full_resolution=unit.apply.full_resolution,
              device=torch.device(device), n_down=unit.fit.gen.n_downsample)
    rate = 1 / seconds_per_call(lambda: translate_batch(netG, [img], **kw), device, 1, steps)
    out["unit translate"] = dict(images_per_s=rate, size=[1914, 1052], new_size=unit.apply.new_size)
    print(f"  unit translate 1914x1052 at shorter side {unit.apply.new_size}: {rate:.2f} images/s", flush=True)
    return out


def seg_configs(params, device: str, tmp: Path, iters: int, cudnn_benchmark: bool):
    """(stock, pipeline) config builders for one precision, the pipeline's as ``train_seg`` builds it."""
    from stylenorm.protocols.mixed import Mixed
    from stylenorm.segmentation import build_config
    mixed = Mixed()

    def build(name: str, precision: str, stock: bool):
        seg = dataclasses.replace(params.seg, iterations=iters, val_loss_every=10**9, checkpoint_every=10**9,
                                  precision=precision, pretrained="",
                                  channels_last=params.seg.channels_last and not stock)
        cfg = build_config(seg, train_sources=mixed.train_sources("identity", 0, "train"),
                           val_sources=mixed.train_sources("identity", 0, "val"), seed=0, device=device,
                           num_workers=params.base.num_workers, work_dir=tmp / name, live_dir=tmp / name / "live")
        if stock:
            cfg.custom_hooks = []
            if precision == "bf16" and device != "cpu":  # MMEngine's own mixed precision, as MMSeg's amp configs
                # use it (it refuses CPUs: there the smoke run keeps the pipeline's autocast wrapper)
                cfg.optim_wrapper = dict(type="AmpOptimWrapper", dtype="bfloat16", optimizer=cfg.optim_wrapper.optimizer,
                                         clip_grad=cfg.optim_wrapper.get("clip_grad"))
        cfg.default_hooks.checkpoint = dict(type="CheckpointHook", by_epoch=False, interval=10**9, save_last=False)
        cfg.env_cfg.cudnn_benchmark = cudnn_benchmark  # the same for both
        # MMEngine keeps one visualizer per name for the whole process, writing under the work folder of
        # the Runner that made it: a name of its own keeps later Runners (a test's, in the same process)
        # off this run's temporary folder, which is gone once the bench returns
        cfg.visualizer.name = f"bench_gpu_{name}"
        return cfg
    return build


def iteration_times(cfg) -> tuple[list[float], float]:
    """Per-iteration seconds of one Runner's training, and the run's wall seconds (its build, data
    workers and the first iterations' cuDNN autotuning included)."""
    from mmengine.runner import Runner
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.train()
    times = list(runner.message_hub.get_scalar("train/time").data[0])
    del runner
    gc.collect()
    return times, time.perf_counter() - start


def seg(params, device: str, iters: int, warmup: int, rounds: int, cudnn_benchmark: bool = False,
        save=lambda out: None) -> dict:
    """``save(out)`` after every run: a run cut short by a deadline keeps the runs before it."""
    out = dict(config=params.seg.config, crop=list(params.seg.crop_size), batch=params.seg.batch_size,
               channels_last=params.seg.channels_last, iterations=params.seg.iterations, cudnn_benchmark=cudnn_benchmark,
               num_workers=params.base.num_workers, runs=[])
    with tempfile.TemporaryDirectory() as tmp:
        build = seg_configs(params, device, Path(tmp), iters, cudnn_benchmark)
        for precision in ("fp32", "bf16"):
            times = {"stock": [], "pipeline": []}
            for r in range(rounds):
                for kind in ("stock", "pipeline"):
                    t, wall = iteration_times(build(f"{kind}_{precision}_{r}", precision, stock=kind == "stock"))
                    t = t[warmup:]
                    times[kind] += t
                    out["runs"].append(dict(kind=kind, precision=precision, round=r, median_s_per_it=statistics.median(t),
                                            timed_iterations=len(t), wall_s=wall))
                    if kind == "pipeline":  # after every S P pair: a later cut keeps a ratio
                        med = {k: statistics.median(v) for k, v in times.items()}
                        out[precision] = dict(stock_s_per_it=med["stock"], pipeline_s_per_it=med["pipeline"],
                                              ratio=med["pipeline"] / med["stock"], timed_iterations=len(times["stock"]),
                                              rounds=r + 1)
                    save(out)
                    print(f"  {kind:<9}{precision:<6} round {r}: median {statistics.median(t):.4f} s/it over {len(t)} "
                          f"({wall:.0f} s for the run, build and warm-up included)", flush=True)
            print(f"  seg {precision}: pipeline {med['pipeline']:.4f} s/it ({1 / med['pipeline']:.2f} it/s), stock "
                  f"{med['stock']:.4f} s/it; pipeline / stock = {med['pipeline'] / med['stock']:.3f} (aim <= 1.05)",
                  flush=True)
    return out


def evaluate(params, device: str, n_images: int) -> dict:
    from mmseg.apis import init_model
    from PIL import Image

    from stylenorm import paths
    from stylenorm.segmentation import predict
    with tempfile.TemporaryDirectory() as tmp:  # the config train_seg writes beside its model, test scale included
        model = init_model(seg_configs(params, device, Path(tmp), 1, False)("eval", "fp32", stock=False), None, device=device)
    images = paths.split_image_paths("cityscapes", "test")
    images = (images * (n_images // max(len(images), 1) + 1))[:n_images]
    size = Image.open(images[0]).size
    out = {"image_size": list(size), "images": len(images)}
    for precision in ("fp32", "bf16"):
        for p in images[:2]:  # warm-up
            predict(model, p, precision)
        rate = len(images) / seconds_per_call(lambda: [predict(model, p, precision) for p in images], device, 0, 1)
        out[precision] = dict(images_per_s=rate)
        print(f"  evaluate {precision}: {rate:.2f} test images/s at {size[0]}x{size[1]} "
              f"(test scale {tuple(params.seg.img_scale)})", flush=True)
    return out


def estimate(fig: dict) -> list[dict]:
    """The paper profile's default grid (its normalizers x seeds of ``mixed``, UNIT fitted once per fit
    seed) from the measured steps: hours on one GPU and on eight (cells side by side, one GPU each; each
    fit on one GPU, fits side by side)."""
    if not all(k in fig for k in ("seg", "translators", "evaluate")) or not {"fp32", "bf16"} <= set(fig["seg"]):
        return []
    study = fig["study"]
    cells = len(study["normalizers"]) * len(study["seeds"])
    fits = len(study.get("fit_seeds", [0]))
    test_images = fig["test_images_per_cell"]
    rows = []
    for precision in ("fp32", "bf16"):
        seg = fig["seg"][precision]["pipeline_s_per_it"] * fig["seg"]["iterations"]
        unit = fig["translators"][f"unit {precision}"]
        fit = unit["s_per_step"] * unit["iterations"]
        normalize = fig["images_to_normalize"] / fig["translators"]["unit translate"]["images_per_s"]
        ev = test_images / fig["evaluate"][precision]["images_per_s"]
        one = fits * (fit + normalize) + cells * (seg + ev)
        eight = -(-fits // 8) * (fit + normalize) + -(-cells // 8) * (seg + ev)
        rows.append(dict(precision=precision, cells=cells, seg_cell_h=seg / 3600, unit_fit_h=fit / 3600,
                         normalize_h=normalize / 3600, evaluate_cell_h=ev / 3600, one_gpu_h=one / 3600,
                         eight_gpus_h=eight / 3600))
    return rows


def render(fig: dict) -> str:
    lines = [f"Measured on **{fig['device']}** (torch {fig['torch']}, CUDA {fig['cuda']}), commit `{fig['commit'] or '?'}`, "
             f"{fig['date']}: `{fig['command']}`.", ""]
    if "matmul" in fig:
        t = fig["matmul"]["tflops"]
        lines += [f"Ceiling in the same run: {fig['matmul']['n']}^3 matrix product {t['float32']:.0f} TFLOP/s fp32 "
                  f"(TF32 off), {t['bfloat16']:.0f} TFLOP/s bf16.", ""]
    if "seg" in fig:
        s = fig["seg"]
        lines += [f"| DeepLabv3+ step (`{Path(s['config']).name}`, crop {s['crop'][0]}x{s['crop'][1]}, batch {s['batch']}) "
                  "| pipeline s/it | it/s | stock Runner s/it | pipeline / stock |", "|---|---|---|---|---|"]
        for p in ("fp32", "bf16"):
            if p in s:
                r = s[p]
                lines.append(f"| {p} | {r['pipeline_s_per_it']:.4f} | {1 / r['pipeline_s_per_it']:.2f} | "
                             f"{r['stock_s_per_it']:.4f} | {r['ratio']:.3f} |")
            else:
                lines.append(f"| {p} | not finished | | | |")
        if "num_workers" in s:
            lines += ["", f"Pipeline as the profile configures it (channels_last {s['channels_last']}, its seeding and DVCLive "
                      "hooks, bf16 through its autocast wrapper); stock: the same config and data without those hooks, "
                      "contiguous memory, bf16 through MMEngine's AmpOptimWrapper (with its gradient scaler); cuDNN "
                      f"autotuning {'on' if s['cudnn_benchmark'] else 'off'} for both; {s['num_workers']} loader workers."]
        runs = ", ".join(f"{r['kind']} {r['precision']} {r['median_s_per_it']:.4f} s/it ({r['wall_s']:.0f} s)" for r in s.get("runs", []))
        lines += ["", f"Runs in order (median s/it after the warm-up; the run's wall time, build and warm-up included): {runs}.", ""]
    if "translators" in fig:
        lines += ["| translator step (profile's `fit`) | crop | batch | parameters | s/step | it/s |", "|---|---|---|---|---|---|"]
        for k, r in fig["translators"].items():
            if "s_per_step" in r:
                lines.append(f"| {k} | {r['crop']} | {r['batch']} | {r['params']:,} | {r['s_per_step']:.4f} | "
                             f"{1 / r['s_per_step']:.1f} |")
        r = fig["translators"]["unit translate"]
        lines += ["", f"UNIT translation ({r['size'][0]}x{r['size'][1]} at shorter side {r['new_size']}, fp32): "
                  f"{r['images_per_s']:.2f} images/s.", ""]
    if "evaluate" in fig:
        e = fig["evaluate"]
        lines += [f"`evaluate` at {e['image_size'][0]}x{e['image_size'][1]} ({e['images']} images): "
                  f"{e['fp32']['images_per_s']:.2f} images/s fp32, {e['bf16']['images_per_s']:.2f} bf16.", ""]
    rows = estimate(fig)
    if rows:
        lines += [f"Estimate of the paper profile's default grid ({rows[0]['cells']} DeepLabv3+ cells of "
                  f"{fig['seg']['iterations']:,} iterations, UNIT fitted {len(fig['study'].get('fit_seeds', [0]))} time(s) for "
                  f"{fig['translators']['unit fp32']['iterations']:,} iterations, {fig['images_to_normalize']:,} images "
                  f"normalized, {fig['test_images_per_cell']:,} test images per cell) from the steps above; eight GPUs "
                  "run the cells side by side after the fit, which stays on one:", "",
                  "| precision | seg cell (h) | UNIT fit (h) | normalize (h) | evaluate cell (h) | 1 GPU (h) | 8 GPUs (h) |",
                  "|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['precision']} | {r['seg_cell_h']:.1f} | {r['unit_fit_h']:.1f} | {r['normalize_h']:.2f} | "
                         f"{r['evaluate_cell_h']:.2f} | {r['one_gpu_h']:.1f} | {r['eight_gpus_h']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.render:
        fig = json.loads(args.render.read_text())
        if args.write_md:
            args.write_md.write_text(render(fig))
        print(render(fig))
        return
    import torch

    from stylenorm.components import load_params
    params = load_params()
    fig = dict(device=torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or "cpu",
               torch=torch.__version__, cuda=torch.version.cuda, commit=args.commit,
               date=time.strftime("%Y-%m-%d"),
               command=args.label or "python benchmarks/bench_gpu.py " + " ".join(argv or sys.argv[1:]),
               study=dict(normalizers=params.study.normalizers, seeds=params.study.seeds, fit_seeds=params.study.fit_seeds))
    # the real study's sizes: test images per cell (both test sets of `mixed`), GTA5 images normalized
    n = args.pairs_per_domain or params.data.n_per_domain
    fig["test_images_per_cell"] = 2 * round(n * params.split.test_fraction)
    fig["images_to_normalize"] = 2 * n  # normalize writes both directions
    print(f"{fig['device']}, torch {fig['torch']}, sections {args.sections}", flush=True)
    for section in args.sections:
        print(f"== {section}", flush=True)
        start = time.perf_counter()
        if section == "matmul":
            fig["matmul"] = matmul_tflops(args.device, args.matmul_n)
            print(f"  matmul TFLOP/s: {fig['matmul']['tflops']}", flush=True)
        elif section == "translators":
            fig["translators"] = translators(params, args.device, args.steps)
        elif section == "seg":
            def save(out: dict) -> None:
                fig["seg"] = out
                if args.json:
                    args.json.write_text(json.dumps(fig, indent=1) + "\n")
            seg(params, args.device, args.iters, args.warmup, args.rounds, args.cudnn_benchmark, save)
        elif section == "evaluate":
            fig["evaluate"] = evaluate(params, args.device, args.eval_images)
        print(f"   ({time.perf_counter() - start:.0f} s)", flush=True)
        if args.json:  # after every section: a later failure keeps what was measured
            args.json.write_text(json.dumps(fig, indent=1) + "\n")
    if args.write_md:
        args.write_md.write_text(render(fig))
    print(render(fig))


if __name__ == "__main__":
    main()
