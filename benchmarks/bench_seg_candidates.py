"""Benchmark: candidate DeepLabv3+ segmenters for the default grid (issue 18, part 1), quality against CPU time.

Each candidate trains the default grid's ``mixed`` identity cell (seed 0: raw Cityscapes + raw GTA5
training splits, ``Mixed().train_sources("identity", 0, "train")``) through the pipeline's own path,
``stylenorm.segmentation.build_config`` + ``train_segmenter`` (the same hooks, seeding and data
loader as ``train_seg``; ``base.num_workers`` loader workers), and is scored with
``stylenorm.evaluation.evaluate_sets`` on the protocol's *validation* sets
(``Mixed().test_sets("identity", 0, split="val")``: Cityscapes and GTA5 val, at the config's test
resize, predictions at the label's full size). The test split is never read. The budget is the
default before issue 18 (``default``: params.yaml ``seg`` at 7fad282, pinned in ``OLD_DEFAULT``), run
by this script on the same machine: a candidate is *within budget* when its cell CPU seconds
(training + validation scoring) are at most 1.05x the default's. Repeated runs of one config differ
by a few per cent (155 and 150 s for ``default`` in two sessions), so compare rows run back to back
(each row's commit and the load before it are in the written table).

Per candidate it prints: validation mIoU per column (Cityscapes, GTA5) and their average; how many
of the 19 classes reach IoU > 0.05 on each column ("learned"); CPU seconds of training (the cell's
process CPU time from ``time.process_time()``, plus its loader workers' from
``resource.getrusage(RUSAGE_CHILDREN)``: each candidate runs in its own subprocess, so every worker
has been reaped when it exits) and of validation scoring, and wall seconds of both. The target
(issue 18): mIoU >= 0.50 on both columns and IoU > 0.05 on >= 16 of 19 classes on both, within budget.

For the validation-best candidate within budget (highest average mIoU) it also prints how close its
training step runs to the machine's limit: the model's forward FLOPs at the crop size from
MMEngine's complexity analysis (``mmengine.analysis.get_model_complexity_info`` on backbone + decode
head + auxiliary head, as training runs them; MMEngine counts one multiply-add as one flop, so the
count is doubled to FLOPs), times 3 for forward + backward (the usual estimate: the backward costs
about twice the forward), times batch x iterations, over the training wall seconds; beside it the
GFLOP/s of a 2048x2048 fp32 ``torch.mm`` (2 n^3 FLOPs), timed in the candidate's own subprocess right
after its training with as many torch threads, as the machine's limit (a bf16 product too, for CPUs with bf16 instructions).

What a candidate may change: the ``seg`` values (crop, test/resize scale, batch, iterations, lr,
precision, image cache) over ``OLD_DEFAULT``, never over today's params.yaml, so that a candidate's
name means the same settings whatever the default is; model structure, optimizer and schedule
through a config file under ``configs/deeplabv3plus/`` (``optimizer`` / ``schedule`` = ``config``), or
by replacing ``cfg.optim_wrapper`` / ``cfg.param_scheduler`` on the built config (``adamw`` /
``onecycle``: rows from before 711ae36, when ``build_config`` wrote its own PolyLR over the config's).
Every candidate runs two validation-loss passes (``val_loss_every`` = iterations / 2) and keeps only
its last checkpoint; a grid cell runs one every ``seg.val_loss_every`` iterations (the default's 350
iterations: three, the old default's 200: two), a few seconds each at these sizes.

Needs the data stages' outputs and the identity "normalization" of GTA5:
``dvc repro split@cityscapes split@gta5 normalize@identity-0-gta5``.

Run: python benchmarks/bench_seg_candidates.py [--only NAME ...] [--seed 0] [--threads N] [--cache PATH]
                                               [--report] [--write results/seg_candidates.md] [--list]
     --only NAME       run only these candidates (repeatable); others are taken from --cache if there
     --cache PATH      JSON of earlier results, merged with this run's (default /tmp/seg_candidates.json);
                       each row keeps the commit and command it ran at
     --threads N       torch threads (default: torch's, one per core). On 2 cores shared with other
                       work, 2 threads ran a training step 6-20x slower than 1 (OpenMP threads waiting
                       on each other), so CPU seconds there were measured at --threads 1
     --report          run nothing; print (and --write) the table from --cache
     --write PATH      write the table, the CPU, the commands and commits as Markdown (results/seg_candidates.md)
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = "configs/deeplabv3plus"
OLD_DEFAULT = dict(config=f"{CONFIG_DIR}/deeplabv3plus_r18-d16_1xb8-cpu_stylenorm-128x256.py", iterations=200,
                   batch_size=8, crop_size=(128, 256), img_scale=(256, 128), lr=0.08, cache_images=False,
                   precision="fp32")  # params.yaml seg at 7fad282: every candidate's unset values
TARGET_MIOU, TARGET_CLASSES, LEARNED_IOU = 0.50, 16, 0.05
BUDGET_TOLERANCE = 1.05  # within budget: cell CPU <= 1.05 x the default's (runs of one config differ by a few %)
COLUMNS = {"Cityscapes": "cityscapes", "GTA5": "gta5_normalized"}  # table column -> the protocol's set name


@dataclass(frozen=True)
class Candidate:
    """A segmenter to try: params ``seg`` values (None = params.yaml's), an optimizer and a schedule."""
    name: str
    note: str
    config: str | None = None
    iterations: int | None = None
    batch_size: int | None = None
    crop_size: tuple[int, int] | None = None  # (h, w)
    img_scale: tuple[int, int] | None = None  # (w, h)
    lr: float | None = None
    precision: str | None = None
    cache_images: bool | None = None
    optimizer: str = "sgd"  # [sgd (the config's optimizer: SGD in schedule_iter.py) | adamw (replaces it) | config (the config's)]
    schedule: str = "poly"  # [poly (the config's scheduler: PolyLR in schedule_iter.py) | onecycle (replaces it) | config]
    weight_decay: float = 1e-4  # with adamw
    pct_start: float = 0.25  # with onecycle: share of iterations warming up

    def seg(self, base):
        """``base`` (params.yaml ``seg``) with ``OLD_DEFAULT``'s values, then this candidate's, over it."""
        changes = {k: getattr(self, k) for k in OLD_DEFAULT if getattr(self, k) is not None}
        return dataclasses.replace(base, **{**OLD_DEFAULT, **changes})


HALF = dict(img_scale=(128, 64), crop_size=(64, 128))  # scenes at 128x64, 64x128 crops: a quarter of the pixels
NOCROP = f"{CONFIG_DIR}/deeplabv3plus_r18-d16_1xb8-cpu-nocrop_stylenorm-128x256.py"
D8_NOCROP = f"{CONFIG_DIR}/deeplabv3plus_r18-d8_1xb16-cpu-nocrop_stylenorm-64x128.py"
ADAMW = dict(optimizer="adamw", schedule="onecycle", lr=3e-3)  # scripts/domain_gap.py's recipe
CANDIDATES = [
    Candidate("default", "the default before issue 18 (params.yaml seg at 7fad282, pinned here): r18-d16 half width, "
              "SGD + poly, images decoded every draw", config=f"{CONFIG_DIR}/deeplabv3plus_r18-d16_1xb8-cpu_stylenorm-128x256.py",
              iterations=200, batch_size=8, crop_size=(128, 256), img_scale=(256, 128), lr=0.08, cache_images=False),
    Candidate("half-adamw-b16-i400", "64x128 crops of 128x64 scenes, batch 16 x 400 its (the default's pixels), AdamW + one-cycle",
              batch_size=16, iterations=400, **HALF, **ADAMW),
    Candidate("adamw-i200", "the default's model, crop and iterations with AdamW + one-cycle instead of SGD + poly",
              **ADAMW),
    Candidate("nocrop-adamw-i200", "whole 256x128 scenes, flip only (nocrop config), AdamW + one-cycle, 200 its",
              config=NOCROP, **ADAMW),
    Candidate("half-nocrop-adamw-b16-i400", "whole 128x64 scenes, flip only (nocrop config), batch 16 x 400 its, "
              "AdamW + one-cycle: scripts/domain_gap.py's data recipe", config=NOCROP, batch_size=16, iterations=400,
              **HALF, **ADAMW),
    Candidate("half-d8-nocrop-adamw-b8-i300", "whole 128x64 scenes, flip only, at output stride 8 (r18-d8 nocrop config), "
              "batch 8 x 300 its (2.8x the stride-16 FLOPs per image), AdamW + one-cycle", config=D8_NOCROP,
              batch_size=8, iterations=300, **HALF, **ADAMW),
    Candidate("half-nocrop-adamw-lr0.01-b16-i400", "half-nocrop-adamw-b16-i400 at a peak lr of 0.01 instead of 0.003",
              config=NOCROP, batch_size=16, iterations=400, **HALF, **{**ADAMW, "lr": 1e-2}),
    Candidate("half-d8-nocrop-adamw-lr0.01-b8-i300", "half-d8-nocrop-adamw-b8-i300 at a peak lr of 0.01",
              config=D8_NOCROP, batch_size=8, iterations=300, **HALF, **{**ADAMW, "lr": 1e-2}),
]
ONECYCLE = f"{CONFIG_DIR}/deeplabv3plus_r18-d8_1xb16-onecycle-cpu_stylenorm-64x128.py"  # AdamW + one-cycle in the config
QUARTER = f"{CONFIG_DIR}/deeplabv3plus_r18q-d8_1xb16-onecycle-cpu_stylenorm-64x128.py"
CACHED = dict(config=ONECYCLE, cache_images=True, optimizer="config", schedule="config", lr=1e-2, **HALF)
CANDIDATES += [
    Candidate("cached-d8-b16-i300", "whole 128x64 scenes at output stride 8, decoded once (seg.cache_images), "
              "AdamW + one-cycle from the config, batch 16 x 300 its", batch_size=16, iterations=300, **CACHED),
    Candidate("cached-d8-b16-i400", "cached-d8-b16-i300 for 400 its", batch_size=16, iterations=400, **CACHED),
    Candidate("cached-d8-b16-i500", "cached-d8-b16-i300 for 500 its", batch_size=16, iterations=500, **CACHED),
    Candidate("cached-d8-b16-i400-lr0.02", "cached-d8-b16-i400 at a peak lr of 0.02", batch_size=16, iterations=400,
              **{**CACHED, "lr": 2e-2}),
    Candidate("cached-d8-b16-i200", "cached-d8-b16-i300 for 200 its (the old default's training time)", batch_size=16,
              iterations=200, **CACHED),
    Candidate("cached-d8-b16-i200-lr0.02", "cached-d8-b16-i200 at a peak lr of 0.02", batch_size=16, iterations=200,
              **{**CACHED, "lr": 2e-2}),
    Candidate("cached-quarter-d8-b16-i300", "cached-d8-b16-i300 with the ResNet-18 at quarter width (16 base channels)",
              batch_size=16, iterations=300, **{**CACHED, "config": QUARTER}),
    Candidate("cached-quarter-d8-b16-i400", "cached-quarter-d8-b16-i300 for 400 its", batch_size=16, iterations=400,
              **{**CACHED, "config": QUARTER}),
    Candidate("cached-quarter-d8-b16-i300-lr0.02", "cached-quarter-d8-b16-i300 at a peak lr of 0.02", batch_size=16,
              iterations=300, **{**CACHED, "config": QUARTER, "lr": 2e-2}),
    Candidate("cached-quarter-d8-b16-i350-lr0.02", "cached-quarter-d8-b16-i300-lr0.02 for 350 its", batch_size=16,
              iterations=350, **{**CACHED, "config": QUARTER, "lr": 2e-2}),
]
# Longer schedules, smaller batches, OHEM and larger scenes: first run for their validation quality on a GPU
# (params.yaml base.device cuda with --gpu-cache: quality against iterations only, no CPU figure), then the
# promising ones on this CPU.
OHEM = f"{CONFIG_DIR}/deeplabv3plus_r18q-d8_1xb16-onecycle-ohem-cpu_stylenorm-64x128.py"
Q = {**CACHED, "config": QUARTER, "lr": 2e-2}
CANDIDATES += [
    *(Candidate(f"cached-quarter-d8-b16-i{n}-lr0.02", f"cached-quarter-d8-b16-i350-lr0.02 for {n} its", batch_size=16,
                iterations=n, **Q) for n in (500, 700, 1000, 1500, 2000, 3000)),
    *(Candidate(f"cached-quarter-d8-b8-i{n}-lr0.02", f"cached-quarter-d8-b16-i350-lr0.02 at batch 8 for {n} its", batch_size=8,
                iterations=n, **Q) for n in (700, 1000, 1400)),
    Candidate("cached-quarter-d8-b16-i700-lr0.04", "cached-quarter-d8-b16-i700-lr0.02 at a peak lr of 0.04",
              batch_size=16, iterations=700, **{**Q, "lr": 4e-2}),
    *(Candidate(f"cached-d8-b16-i{n}-lr0.02", f"cached-quarter-d8-b16-i{n}-lr0.02 at half width (32 base channels)",
                batch_size=16, iterations=n, **{**Q, "config": ONECYCLE}) for n in (700, 3000)),
    Candidate("cached-quarter-d8-ohem-b16-i700-lr0.02", "cached-quarter-d8-b16-i700-lr0.02 with OHEM in the decode "
              "head's loss", batch_size=16, iterations=700, **{**Q, "config": OHEM}),
    Candidate("cached-quarter-d8-ohem-b16-i350-lr0.02", "cached-quarter-d8-b16-i350-lr0.02 with OHEM in the decode "
              "head's loss", batch_size=16, iterations=350, **{**Q, "config": OHEM}),
    Candidate("cached-quarter-d8-s256-b8-i700-lr0.02", "cached-quarter-d8-b8-i700-lr0.02 on whole 256x128 scenes "
              "(4x the pixels)", batch_size=8, iterations=700, **{**Q, "img_scale": (256, 128), "crop_size": (128, 256)}),
]
D16_256 = f"{CONFIG_DIR}/deeplabv3plus_r18q-d16_1xb8-onecycle-cpu_stylenorm-128x256.py"
EIGHTH = f"{CONFIG_DIR}/deeplabv3plus_r18e-d4_1xb16-onecycle-cpu_stylenorm-64x128.py"
CANDIDATES += [
    *(Candidate(f"cached-quarter-d16-s256-b8-i{n}-lr0.02", f"the quarter-width network at output stride 16 on whole "
                f"256x128 scenes, batch 8 x {n} its", batch_size=8, iterations=n,
                **{**Q, "config": D16_256, "img_scale": (256, 128), "crop_size": (128, 256)}) for n in (500, 700, 1500, 3000)),
    Candidate("cached-quarter-d8-b8-i600-lr0.02", "cached-quarter-d8-b16-i350-lr0.02 at batch 8 for 600 its",
              batch_size=8, iterations=600, **Q),
    Candidate("cached-quarter-d8-b8-i600-lr0.01", "cached-quarter-d8-b8-i600-lr0.02 at a peak lr of 0.01",
              batch_size=8, iterations=600, **{**Q, "lr": 1e-2}),
    Candidate("cached-eighth-d4-b16-i350-lr0.02", "cached-quarter-d8-b16-i350-lr0.02 with the ResNet-18 at an eighth of "
              "the width and output stride 4 (every stage at a quarter of the scene's side, as the five-layer FCN)",
              batch_size=16, iterations=350, **{**Q, "config": EIGHTH}),
    Candidate("cached-eighth-d4-b8-i600-lr0.02", "cached-eighth-d4-b16-i350-lr0.02 at batch 8 for 600 its",
              batch_size=8, iterations=600, **{**Q, "config": EIGHTH}),
]
BY_NAME = {c.name: c for c in CANDIDATES}


def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:  # no git binary (a bare GPU machine)
        sha = ""
    if not sha and (ROOT / ".gpu" / "commit").exists():  # a GPU machine gets no .git: the commit sent with it
        return (ROOT / ".gpu" / "commit").read_text().strip()[:7]
    if not sha:
        return "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "benchmarks", "configs", "stylenorm", "params.yaml"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return sha + ("+uncommitted code" if dirty else "")


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    model = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), "unknown")
    flags = set(next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), []))
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    return f"{model}, {os.cpu_count()} logical CPUs, flags: " + " ".join(
        f"{f}{'' if f in flags else ' (no)'}" for f in wanted)


# ----------------------------------------------------------------------------- one cell, in a subprocess
def forward_flops(cfg, crop: tuple[int, int]) -> float:
    """FLOPs (2 x multiply-adds) of one image's training forward: backbone, decode and auxiliary heads."""
    import torch
    from mmengine.analysis import get_model_complexity_info
    from mmseg.registry import MODELS
    model = MODELS.build(cfg.model)
    model.train()

    class TrainForward(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            feats = self.m.extract_feat(x)
            outs = [self.m.decode_head(feats)]
            if self.m.with_auxiliary_head:
                outs.append(self.m.auxiliary_head(feats))
            return outs

    # two images: training-mode BN needs more than one value per channel (the ASPP's pooled branch is 1x1)
    info = get_model_complexity_info(TrainForward(model), inputs=(torch.randn(2, 3, *crop),), show_table=False,
                                     show_arch=False)
    return 2.0 * float(info["flops"]) / 2


def run_cell(name: str, seed: int, out_json: Path, threads: int | None) -> None:
    """Train and score one candidate; write its figures to ``out_json``. Runs in its own process."""
    t_start = time.process_time()
    import torch
    if threads:
        torch.set_num_threads(threads)

    from stylenorm import labels
    from stylenorm.config import load_params
    from stylenorm.evaluation import evaluate_sets
    from stylenorm.protocols.mixed import Mixed
    from stylenorm.segmentation import build_config, load_segmenter, predict, train_segmenter
    cand = BY_NAME[name]
    params = load_params()
    if params.base.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    on_gpu = params.base.device != "cpu" and torch.cuda.is_available()
    seg = cand.seg(params.seg)
    seg = dataclasses.replace(seg, val_loss_every=max(1, seg.iterations // 2), checkpoint_every=seg.iterations)
    protocol = Mixed()
    with tempfile.TemporaryDirectory(prefix=f"seg_cand_{name}_") as tmp:
        tmp = Path(tmp)
        cfg = build_config(seg, train_sources=protocol.train_sources("identity", 0, "train"),
                           val_sources=protocol.train_sources("identity", 0, "val"), seed=seed,
                           device=params.base.device, num_workers=params.base.num_workers, work_dir=tmp / "work",
                           live_dir=tmp / "work" / "live")
        if cand.optimizer == "adamw":
            cfg.optim_wrapper.optimizer = dict(type="AdamW", lr=seg.lr, betas=(0.9, 0.999),
                                               weight_decay=cand.weight_decay)
        if cand.schedule == "onecycle":  # replaces build_config's PolyLR (see the module docstring)
            cfg.param_scheduler = [dict(type="OneCycleLR", eta_max=seg.lr, total_steps=seg.iterations,
                                        pct_start=cand.pct_start, anneal_strategy="cos", div_factor=25.0,
                                        final_div_factor=1e3, begin=0, end=seg.iterations, by_epoch=False)]
        threads = torch.get_num_threads()
        load = os.getloadavg()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        train_segmenter(cfg, tmp / "model")
        import gc
        gc.collect()
        train_cpu, train_wall = time.process_time() - cpu0, time.perf_counter() - wall0
        model = load_segmenter(tmp / "model", "cpu")
        cpu1, wall1 = time.process_time(), time.perf_counter()
        res = evaluate_sets(lambda p: predict(model, p, seg.precision), protocol.test_sets("identity", 0, split="val"),
                            tmp / "eval", pooled=protocol.pooled)
        eval_cpu, eval_wall = time.process_time() - cpu1, time.perf_counter() - wall1
        flops = forward_flops(cfg, tuple(seg.crop_size))
        limit = {d: matmul_gflops(d) for d in ("float32", "bfloat16")}  # the machine's limit, right after training
    iou = {col: res["IoU"][key] for col, key in COLUMNS.items()}
    out = dict(
        name=name, note=cand.note, seed=seed, config=seg.config, iterations=seg.iterations, batch_size=seg.batch_size,
        crop_size=list(seg.crop_size), img_scale=list(seg.img_scale), lr=seg.lr, precision=seg.precision,
        channels_last=seg.channels_last, cache_images=seg.cache_images,
        optimizer=cfg.optim_wrapper.optimizer["type"].lower(),  # what ran, whoever set it
        schedule="+".join(s["type"].replace("LR", "").lower() for s in cfg.param_scheduler),
        weight_decay=cfg.optim_wrapper.optimizer.get("weight_decay"),
        pct_start=next((s["pct_start"] for s in cfg.param_scheduler if "pct_start" in s), None),
        miou={col: res["mIoU"][key] for col, key in COLUMNS.items()},
        learned={col: int(sum(v is not None and v > LEARNED_IOU for v in iou[col].values())) for col in COLUMNS},
        iou=iou, train_cpu_main_s=train_cpu, train_wall_s=train_wall, eval_cpu_s=eval_cpu, eval_wall_s=eval_wall,
        process_cpu_s=time.process_time() - t_start, forward_flops=flops, torch_threads=threads,
        num_workers=params.base.num_workers, loadavg_before=list(load), classes=list(labels.CLASSES),
        matmul_gflops=limit, device="cuda" if on_gpu else "cpu",
        device_name=torch.cuda.get_device_name() if on_gpu else cpu_model())
    out_json.write_text(json.dumps(out, indent=1))


# ----------------------------------------------------------------------------- the parent: run, table, write
def run_candidate(name: str, seed: int, log_dir: Path, threads: int | None) -> dict:
    """Run one candidate in a subprocess; add its loader workers' CPU (reaped children) to its training CPU."""
    out_json = log_dir / f"{name}.json"
    out_json.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall0 = time.perf_counter()
    cmd = [sys.executable, __file__, "--_cell", name, "--seed", str(seed), "--_out", str(out_json)]
    cmd += ["--threads", str(threads)] if threads else []
    print(f"\n=== {name}: {BY_NAME[name].note}", flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    proc = subprocess.run(cmd, cwd=ROOT, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"candidate {name} failed (exit {proc.returncode})")
    r = json.loads(out_json.read_text())
    children_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    r["workers_cpu_s"] = max(0.0, children_cpu - r["process_cpu_s"])  # the subprocess's own CPU is in children_cpu too
    r["train_cpu_s"] = r["train_cpu_main_s"] + r["workers_cpu_s"]
    r["cell_cpu_s"] = r["train_cpu_s"] + r["eval_cpu_s"]
    r["subprocess_wall_s"] = time.perf_counter() - wall0
    r["commit"] = git_commit()
    r["command"] = " ".join(["python", "benchmarks/bench_seg_candidates.py", *sys.argv[1:]])
    r["ran_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return r


def matmul_gflops(dtype_name: str, n: int = 2048, reps: int = 10) -> float:
    import torch
    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    for _ in range(2):
        torch.mm(a, b)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t)
    return 2 * n ** 3 / sorted(times)[len(times) // 2] / 1e9


def best_within_budget(results: dict) -> tuple[str | None, float | None]:
    budget = results["default"]["cell_cpu_s"] if "default" in results else None
    ok = [r for r in results.values() if budget is None or r["cell_cpu_s"] <= BUDGET_TOLERANCE * budget]
    if not ok:
        return None, budget
    return max(ok, key=lambda r: sum(r["miou"].values()) / len(r["miou"]))["name"], budget


def table(results: dict, budget: float | None) -> list[str]:
    head = ("| candidate | config | crop (h x w) | scale (w x h) | batch | iters | optimizer, schedule | lr "
            "| val mIoU Cityscapes | val mIoU GTA5 | average | classes > 0.05 (CS / GTA5) | train CPU s | eval CPU s "
            "| cell CPU s | x default | train wall s | s/it wall | target |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name in [c.name for c in CANDIDATES if c.name in results] + [n for n in results if n not in BY_NAME]:
        r = results[name]
        m, learned = r["miou"], r["learned"]
        meets = all(v >= TARGET_MIOU for v in m.values()) and all(v >= TARGET_CLASSES for v in learned.values())
        within = budget is None or r["cell_cpu_s"] <= BUDGET_TOLERANCE * budget
        target = ("yes" if meets else "no") + ("" if within else " (over budget)")
        ratio = f"{r['cell_cpu_s'] / budget:.2f}" if budget else "n/a"
        lines.append(
            f"| {name} | {Path(r['config']).name} | {r['crop_size'][0]}x{r['crop_size'][1]} "
            f"| {r['img_scale'][0]}x{r['img_scale'][1]} | {r['batch_size']} | {r['iterations']} "
            f"| {r['optimizer']}, {r['schedule']} | {r['lr']:g} | {m['Cityscapes']:.3f} | {m['GTA5']:.3f} "
            f"| {(m['Cityscapes'] + m['GTA5']) / 2:.3f} | {learned['Cityscapes']} / {learned['GTA5']} "
            f"| {r['train_cpu_s']:.0f} | {r['eval_cpu_s']:.0f} | {r['cell_cpu_s']:.0f} | {ratio} "
            f"| {r['train_wall_s']:.0f} | {r['train_wall_s'] / r['iterations']:.3f} | {target} |")
    return lines


def gpu_table(results: dict) -> list[str]:
    """Rows run with ``base.device: cuda``: validation quality against the schedule; their times are a GPU's."""
    head = ("| candidate | config | scale (w x h) | batch | iters | lr | val mIoU Cityscapes | val mIoU GTA5 | average "
            "| classes > 0.05 (CS / GTA5) | train wall s (GPU) | device |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name in [c.name for c in CANDIDATES if c.name in results]:
        r = results[name]
        m, learned = r["miou"], r["learned"]
        lines.append(
            f"| {name} | {Path(r['config']).name} | {r['img_scale'][0]}x{r['img_scale'][1]} | {r['batch_size']} "
            f"| {r['iterations']} | {r['lr']:g} | {m['Cityscapes']:.3f} | {m['GTA5']:.3f} "
            f"| {(m['Cityscapes'] + m['GTA5']) / 2:.3f} | {learned['Cityscapes']} / {learned['GTA5']} "
            f"| {r['train_wall_s']:.0f} | {r['device_name']} |")
    return lines


def per_class(r: dict) -> list[str]:
    lines = ["| class | " + " | ".join(f"val IoU {c}" for c in COLUMNS) + " |", "|---|" + "---|" * len(COLUMNS)]
    for cls in r["classes"]:
        vals = [r["iou"][c][cls] for c in COLUMNS]
        lines.append(f"| {cls} | " + " | ".join("n/a" if v is None else f"{v:.3f}" for v in vals) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=list(BY_NAME), help="run only this candidate (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="the cell's training seed")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "seg_candidates.json")
    parser.add_argument("--gpu-cache", type=Path, help="JSON of rows run with base.device cuda (quality only): "
                        "written there by a run on a GPU, read beside --cache by --report")
    parser.add_argument("--write", type=Path, help="write the results as Markdown here (results/seg_candidates.md)")
    parser.add_argument("--threads", type=int, help="torch threads for training, scoring and the matmul "
                        "(default: torch's, one per core)")
    parser.add_argument("--list", action="store_true", help="list the candidates and exit")
    parser.add_argument("--report", action="store_true", help="run nothing: the table (and --write) from --cache")
    parser.add_argument("--_cell", help=argparse.SUPPRESS)
    parser.add_argument("--_out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.chdir(ROOT)
    if args._cell:
        run_cell(args._cell, args.seed, args._out, args.threads)
        return
    if args.list:
        for c in CANDIDATES:
            print(f"{c.name:<36}{c.note}")
        return
    cpu = cpu_model()
    print(f"CPU: {cpu}\ncommit {git_commit()}; load average (1, 5, 15 min) {os.getloadavg()}", flush=True)
    results = json.loads(args.cache.read_text()) if args.cache.exists() else {}
    results = {k: v for k, v in results.items() if v.get("seed") == args.seed and v.get("device", "cpu") == "cpu"}
    gpu_results = {}
    if args.gpu_cache and args.gpu_cache.exists():  # quality-only rows from a GPU machine
        gpu_results = {k: v for k, v in json.loads(args.gpu_cache.read_text()).items() if v.get("seed") == args.seed}
    log_dir = Path(tempfile.mkdtemp(prefix="seg_candidates_"))
    for name in [] if args.report else args.only or [c.name for c in CANDIDATES]:
        r = run_candidate(name, args.seed, log_dir, args.threads)
        if r["device"] == "cuda":  # quality only: never beside the CPU rows that set the budget
            if not args.gpu_cache:
                raise SystemExit(f"{name} ran on a GPU (params.yaml base.device): give --gpu-cache PATH for its row")
            gpu_results[name] = r
            args.gpu_cache.write_text(json.dumps(gpu_results, indent=1))
        else:
            results[name] = r
            args.cache.write_text(json.dumps(results, indent=1))
    best, budget = best_within_budget(results)
    lines = table(results, budget)
    print("\n" + "\n".join(lines))
    if gpu_results:
        print("\nOn a GPU (validation quality against the schedule only):\n" + "\n".join(gpu_table(gpu_results)))
    report = []
    if best is not None:
        import torch
        r = results[best]
        torch.set_num_threads(r["torch_threads"])
        limit, when = r.get("matmul_gflops"), "in the candidate's own run, right after its training"
        if not limit:
            limit, when = {d: matmul_gflops(d) for d in ("float32", "bfloat16")}, "in this report's run"
        step_flops = 3 * r["forward_flops"] * r["batch_size"]
        achieved = step_flops * r["iterations"] / r["train_wall_s"] / 1e9
        report = [
            f"Validation-best within budget: **{best}** (average val mIoU {sum(r['miou'].values()) / 2:.3f}).",
            "",
            f"Achieved training throughput of {best}: forward {r['forward_flops'] / 1e9:.2f} GFLOP per "
            f"{r['crop_size'][0]}x{r['crop_size'][1]} image (MMEngine's complexity analysis of backbone + decode + "
            f"auxiliary heads; its multiply-add count doubled to FLOPs), x3 for forward + backward (an estimate), x batch "
            f"{r['batch_size']} x {r['iterations']} iterations / {r['train_wall_s']:.1f} s training wall = "
            f"**{achieved:.1f} GFLOP/s**, against a 2048x2048 torch.mm timed {when} at "
            f"{r['torch_threads']} torch threads: fp32 {limit['float32']:.1f} GFLOP/s "
            f"(**{100 * achieved / limit['float32']:.1f}%** of it), bf16 {limit['bfloat16']:.1f} GFLOP/s. "
            f"The training wall time includes data loading, the two validation-loss passes and checkpointing.",
        ]
        print("\n" + "\n".join(report))
    if args.write:
        every = {**results, **{f"{k} (GPU)": v for k, v in gpu_results.items()}}
        commits = sorted({(r["commit"], r["command"]) for r in every.values()})
        text = [
            "# Candidate default segmenters (issue 18, part 1)",
            "",
            "Written by `benchmarks/bench_seg_candidates.py` (see its docstring for what is measured); do not edit "
            "by hand. Cell: `mixed` protocol, identity row (raw Cityscapes + raw GTA5 training splits), seed "
            f"{args.seed}; scored on the **validation** splits (never test). Budget = the default's cell CPU "
            f"seconds (training incl. loader workers + validation scoring), measured on this machine by this script "
            "(commands below)" + (f": {budget:.0f} s; within budget = at most {BUDGET_TOLERANCE}x that."
                                  if budget else ": default not run."),
            f"Target: val mIoU >= {TARGET_MIOU} on both columns and IoU > {LEARNED_IOU} on >= {TARGET_CLASSES} of 19 "
            "classes on both, within budget.",
            "",
            f"CPU: {cpu}. torch {__import__('torch').__version__}, "
            f"{results[next(iter(results))]['torch_threads']} torch threads, "
            f"{results[next(iter(results))]['num_workers']} loader workers.",
            "",
            *table(results, budget),
            "",
            *report,
            "",
        ]
        fcn = ROOT / "results" / "fcn_pooled_val.json"
        if fcn.exists():  # the reference the issue sets: the five-layer FCN, on this very cell and split
            f = json.loads(fcn.read_text())
            full = {d: f[d]["labels at full size"] for d in ("cityscapes", "gta5")}
            text += [
                "Reference on the same cell: scripts/domain_gap.py's five-layer FCN (its own recipe: see the script) "
                "trained on both training splits together and scored on the same validation splits "
                f"against full-size labels: val mIoU Cityscapes {full['cityscapes']['val_mIoU']:.3f}, GTA5 "
                f"{full['gta5']['val_mIoU']:.3f}, classes > 0.05: {full['cityscapes']['classes_above_0.05']} / "
                f"{full['gta5']['classes_above_0.05']}, {f['steps']} steps in {f['train_seconds']:.0f} s of training "
                f"at {f['threads']} torch thread(s) (`{f['command']}` at `{f['commit']}`).",
                "",
            ]
        if gpu_results:
            text += [
                "## Validation quality against the schedule, on a GPU",
                "",
                "The same cells run with `base.device: cuda` on a GPU machine, to see how far longer schedules, "
                "smaller batches, OHEM or larger scenes take validation quality before paying for them in CPU time "
                "here. Their times are the GPU's and say nothing of the CPU budget; GPU convolutions are not "
                "bit-identical to the CPU's, so a row run on both differs a little.",
                "",
                *gpu_table(gpu_results),
                "",
            ]
        if best is not None:
            text += [f"Per-class validation IoU of {best}:", "", *per_class(results[best]), ""]
        text += ["Commands and commits (each candidate's row ran the pipeline code of its commit: rows before 711ae36 with build_config's own PolyLR floor and validation-loss pipeline):", ""]
        text += [f"- `{cmd}` at `{commit}`: " + ", ".join(n for n, r in every.items()
                                                        if (r["commit"], r["command"]) == (commit, cmd))
                 for commit, cmd in commits]
        missing = [c.name for c in CANDIDATES if c.name not in every and c.name not in gpu_results]
        if missing:
            text += ["", "Defined but without a result (not run, or stopped before it finished): " + ", ".join(missing) + "."]
        text += ["", "Load average (1 min) before each candidate's training: " + ", ".join(
            f"{n} {r['loadavg_before'][0]:.2f}" for n, r in results.items()) + " (2 cores shared with other work).", "",
            f"This file: `python benchmarks/bench_seg_candidates.py {' '.join(sys.argv[1:])}` at `{git_commit()}`, "
            f"{time.strftime('%Y-%m-%d %H:%M')}.", ""]
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text("\n".join(text))
        print(f"\nwrote {args.write}")


if __name__ == "__main__":
    main()
