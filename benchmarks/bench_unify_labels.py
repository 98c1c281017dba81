"""Benchmark: unify_labels throughput on GTA5-size (1914x1052) label maps vs bare PIL.

Prints labels/s per core for (a) PIL decode + encode of the same files, the floor
any PNG-to-PNG stage pays, and (b) this project's per-label unify path
(decode -> train-id lookup -> size check -> encode -> class histogram), plus the
whole-stage rate with all cores. The target is (b) within 2x of (a).

Run: python benchmarks/bench_unify_labels.py [--n 60] [--encoding palette|ids|rgb]
"""
from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from stylenorm import labels, paths, synthetic
from stylenorm.domains import gta5
from stylenorm.unify import _Job, _unify_one, unify_domain


def make_labels(root: Path, n: int, encoding: str) -> list[Path]:
    (root / paths.LABELS).mkdir(parents=True)
    width, height = gta5.NATIVE_SIZE
    colour_of = np.array([labels.COLOR_OF_ID[i] for i in range(labels.NUM_LABEL_IDS)], dtype=np.uint8)
    files = []
    for i in range(n):
        ops = synthetic.compose_scene(np.random.default_rng([0, i]), width, height)
        ids = synthetic.rasterise_labels(ops, width, height)
        if encoding == "palette":
            img = Image.fromarray(ids, "L").convert("P")
            img.putpalette(labels.cityscapes_palette_bytes())
        elif encoding == "rgb":
            img = Image.fromarray(colour_of[ids], "RGB")
        else:
            img = Image.fromarray(ids, "L")
        path = root / paths.LABELS / f"{i:05d}.png"
        img.save(path)
        files.append(path)
    return files


def rate(fn, items) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - start)


def pil_roundtrip(path: Path) -> None:
    img = Image.open(path)
    img.load()
    img.save(io.BytesIO(), format="PNG")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="label maps to time")
    parser.add_argument("--encoding", choices=["palette", "ids", "rgb"], default="palette")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "sampled", Path(tmp) / "unified"
        files = make_labels(src, args.n, args.encoding)
        (out / paths.LABELS).mkdir(parents=True)
        jobs = [_Job(f.stem, f, gta5.NATIVE_SIZE) for f in files]
        unify_one = partial(_unify_one, out_dir=out, policy="resize_label", unknown_to_ignore=False)
        unify_one(jobs[0])  # warm the lookup tables
        base = rate(pil_roundtrip, files)
        ours = rate(unify_one, jobs)
        workers = os.cpu_count() or 1
        manifest = pd.DataFrame({"id": [f.stem for f in files], "width": gta5.NATIVE_SIZE[0],
                                 "height": gta5.NATIVE_SIZE[1]})
        start = time.perf_counter()
        unify_domain(src.parent / "sampled", manifest, Path(tmp) / "stage", policy="resize_label",
                     unknown_to_ignore=False, workers=workers, desc="stage")
        stage = len(files) / (time.perf_counter() - start)
    print(f"\n{args.n} label maps, {gta5.NATIVE_SIZE[0]}x{gta5.NATIVE_SIZE[1]}, encoding={args.encoding}")
    print(f"  PIL decode+encode (1 core)      {base:7.1f} labels/s")
    print(f"  unify_labels path (1 core)      {ours:7.1f} labels/s   ({base / ours:.2f}x the PIL time; target <= 2x)")
    print(f"  unify_labels stage ({workers} workers)  {stage:7.1f} labels/s")


if __name__ == "__main__":
    main()
