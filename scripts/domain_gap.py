"""Measure the embedded dataset's domain gap with a small fully convolutional segmenter.

Trains the same tiny FCN once on each domain's train split (images resized to one common 2:1 size,
``--downscale``) and scores it by mIoU on every listed domain's test split, next to a constant
predictor (every pixel = the most frequent training class). A real gap shows as in-domain mIoU well
above cross-domain mIoU. Reads the outputs of ``dvc repro`` (data/sampled, data/unified, data/splits)
for ``--domains`` (default: GTA5 and Cityscapes; list more in ``study.domains`` and reproduce their
data stages first); prints a table and JSON, and with ``--markdown`` writes the table with the command
and commit that produced it (results/domain_gap.md, shown in docs/data.md).

``--pooled`` instead trains one model on both domains' train splits together (the ``mixed`` protocol's
identity cell) and scores it on each domain's validation split, both against labels resized to the
input size (nearest, as above) and, as the pipeline scores, against the full-size labels (logits
resized bilinearly): the level the default segmenter's validation figures
(benchmarks/bench_seg_candidates.py) can be set against.

Run: python scripts/domain_gap.py [--domains D ...] [--steps 600] [--downscale 4] [--pooled] [--threads N]
                                  [--json PATH] [--markdown PATH]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from tqdm import trange

from stylenorm import domains, paths
from stylenorm.config import load_params
from stylenorm.labels import IGNORE_INDEX, NUM_CLASSES
from stylenorm.metrics import confusion_matrix, summarize


def load(domain: str, split: str, downscale: int) -> tuple[torch.Tensor, torch.Tensor]:
    ids = pd.read_csv(paths.splits_dir(domain) / f"{split}.csv", dtype={"id": str}).id
    images, targets = [], []
    for i in ids:
        img = Image.open(paths.sampled_dir(domain) / paths.IMAGES / f"{i}.png").convert("RGB")
        lab = Image.open(paths.unified_dir(domain) / paths.LABELS / f"{i}.png")
        size = (256 // downscale * 2, 256 // downscale)  # one common 2:1 size for every domain
        images.append(np.asarray(img.resize(size, Image.BILINEAR)))
        targets.append(np.asarray(lab.resize(size, Image.NEAREST)))
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1  # (N, 3, H, W)
    return x, torch.from_numpy(np.stack(targets)).long()  # (N, H, W)


class TinyFCN(nn.Module):
    def __init__(self, width: int = 48):
        super().__init__()
        block = lambda i, o, s=1, d=1: nn.Sequential(  # noqa: E731
            nn.Conv2d(i, o, 3, s, padding=d, dilation=d, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))
        self.body = nn.Sequential(block(3, width, 2), block(width, width), block(width, 2 * width, 2),
                                  block(2 * width, 2 * width, d=2), block(2 * width, 2 * width, d=4))
        self.head = nn.Conv2d(2 * width, NUM_CLASSES, 1)

    def forward(self, x):
        return F.interpolate(self.head(self.body(x)), size=x.shape[-2:], mode="bilinear", align_corners=False)


def train(x, y, steps: int, seed: int) -> TinyFCN:
    torch.manual_seed(seed)
    model = TinyFCN()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    for _ in trange(steps, desc="train", leave=False):
        idx = torch.randint(len(x), (16,), generator=gen)
        xb, yb = x[idx], y[idx]
        flip = torch.rand(()) < 0.5
        if flip:
            xb, yb = xb.flip(-1), yb.flip(-1)
        loss = F.cross_entropy(model(xb), yb, ignore_index=IGNORE_INDEX)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


@torch.inference_mode()
def score(model, x, y) -> float:
    pred = torch.cat([model(x[i:i + 32]).argmax(1) for i in range(0, len(x), 32)])
    return summarize(confusion_matrix(pred.numpy(), y.numpy()))["mIoU"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", nargs="+", choices=domains.available(),
                        help="domains to train on and score on (their data stages reproduced; default: "
                             "params.yaml's study.target and study.source)")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--downscale", type=int, default=4, help="images are resized to (512/d) x (256/d)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pooled", action="store_true", help="one model on both domains' train splits, "
                        "scored on each domain's val split")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--json", type=Path, help="also write the result here, with the command and commit")
    parser.add_argument("--markdown", type=Path, help="also write the table here, with the command and commit")
    args = parser.parse_args()
    torch.set_num_threads(args.threads or max(1, torch.get_num_threads()))
    if not args.domains:
        study = load_params().study
        args.domains = [study.target, study.source]
    if args.pooled:
        return pooled(args)
    names = args.domains
    data = {(d, s): load(d, s, args.downscale) for d in names for s in ("train", "test")}
    result = {}
    for src in names:
        start = time.time()
        model = train(*data[(src, "train")], steps=args.steps, seed=args.seed)
        majority = int(torch.bincount(data[(src, "train")][1][data[(src, "train")][1] != IGNORE_INDEX]).argmax())
        result[src] = {"train_seconds": round(time.time() - start, 1)}
        for tgt in names:
            x, y = data[(tgt, "test")]
            const = summarize(confusion_matrix(np.full(y.shape, majority), y.numpy()))["mIoU"]
            result[src][tgt] = {"mIoU": round(score(model, x, y), 4), "constant_mIoU": round(const, 4)}
    table = gap_markdown(result, names, args)
    print(table)
    result = {**result, **provenance()}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.markdown:
        args.markdown.write_text(table)


def provenance() -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {"command": "python scripts/domain_gap.py " + " ".join(sys.argv[1:]), "commit": commit}


def gap_markdown(result: dict, names: list[str], args) -> str:
    """Rows: trained on; columns: test split of each domain (in-domain in bold); the constant predictor last."""
    label = {d: domains.label(d) for d in names}
    lines = [f"| trained on | {' | '.join(f'test {label[d]}' for d in names)} |", "|---" * (len(names) + 1) + "|"]
    for src in names:
        cells = [f"**{result[src][t]['mIoU']:.3f}**" if t == src else f"{result[src][t]['mIoU']:.3f}" for t in names]
        lines.append(f"| {label[src]} | {' | '.join(cells)} |")
    constant = " | ".join(f"{result[d][d]['constant_mIoU']:.3f}" for d in names)
    lines.append(f"| constant predictor (the majority class of that test domain's own training split) | {constant} |")
    p = provenance()
    return ("mIoU (19 classes) of the five-layer FCN trained on each domain's train split "
            f"({args.steps} steps, images at {256 // args.downscale * 2}x{256 // args.downscale}, seed {args.seed}), "
            f"scored on each domain's test split.\n\n" + "\n".join(lines) +
            f"\n\nCommand: `{p['command']}` at commit `{p['commit']}`.\n")


def pooled(args) -> None:
    train_sets = [load(d, "train", args.downscale) for d in args.domains]
    x, y = torch.cat([t[0] for t in train_sets]), torch.cat([t[1] for t in train_sets])
    start = time.time()
    model = train(x, y, steps=args.steps, seed=args.seed)
    result = {"train_seconds": round(time.time() - start, 1), "steps": args.steps, "threads": torch.get_num_threads()}
    for d in args.domains:
        xv, yv = load(d, "val", args.downscale)
        ids = pd.read_csv(paths.splits_dir(d) / "val.csv", dtype={"id": str}).id
        conf_low, conf_full = 0, 0
        with torch.inference_mode():
            for k, i in enumerate(ids):
                logits = model(xv[k:k + 1])
                conf_low = conf_low + confusion_matrix(logits.argmax(1).numpy(), yv[k:k + 1].numpy())
                full = np.asarray(Image.open(paths.unified_dir(d) / paths.LABELS / f"{i}.png"))
                up = F.interpolate(logits, size=full.shape, mode="bilinear", align_corners=False).argmax(1)
                conf_full = conf_full + confusion_matrix(up.numpy(), full[None])
        for name, conf in (("labels at the input size", conf_low), ("labels at full size", conf_full)):
            s = summarize(conf)
            result.setdefault(d, {})[name] = {
                "val_mIoU": round(s["mIoU"], 4),
                "classes_above_0.05": sum(v is not None and v > 0.05 for v in s["IoU"].values())}
    result.update(provenance())
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
