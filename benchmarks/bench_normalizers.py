"""Benchmark: images per second of the training-free normalizers (fda, histmatch, reinhard),
through ``Normalizer.apply`` (PNG reading and writing included), at the embedded default's size
(GTA5 478x263 sources, Cityscapes 512x256 references) and at full size (1914x1052, 2048x1024).

Images are embedded-generator scenes (``stylenorm/synthetic.py``) upscaled to the size and given
sensor-like noise, so that, as in real photographs and game frames, colours rarely repeat
exactly (the fraction of distinct colours, which the Reinhard shortcut depends on, is printed).
``--images`` (``--full-images``) sources are timed and the time for the study's 987 extrapolated; ``fit`` (target statistics, histmatch and
reinhard) is timed over ``--targets`` target images and extrapolated to the ~790 training images
of 987 at an 80/20 split. Each row gives the measured wall-clock rate and the CPU time per image
(this process and its workers); since other sessions share the 2 cores (``uptime`` is printed
before and after), the study-size estimate is from CPU time: ``n * cpu_per_image / 2``.

The first row of each size is the floor every normalizer pays at that size: reading a source
and a reference PNG and writing one PNG, nothing computed.

Run: python benchmarks/bench_normalizers.py [--workers 2] [--images 96] [--full-images 24] [--targets 16] [--skip-full]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from stylenorm.config import from_dict
from stylenorm.normalizers import Context, get
from stylenorm.normalizers import _references as refs
from stylenorm.domains.cityscapes import NATIVE_SIZE as CITYSCAPES_SIZE
from stylenorm.domains.gta5 import NATIVE_SIZE as GTA5_SIZE
from stylenorm.synthetic import scaled, scene

STUDY_SOURCES, STUDY_TARGET_TRAIN = 987, 790
SETTINGS = [("fda", {"beta": 0.01}), ("fda", {"beta": 0.09}), ("histmatch", {"reference": "pair"}),
            ("histmatch", {"reference": "pooled"}), ("reinhard", {"reference": "pair"}), ("reinhard", {"reference": "pooled"})]


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the pool's workers)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                   resource.getrusage(resource.RUSAGE_CHILDREN)))


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``fn()``."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    fn()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def row(label: str, n: int, wall: float, cpu: float, study_n: int, unit: str = "images") -> str:
    """Measured rate, and the study's count extrapolated from CPU time as if the workers had the
    cores to themselves (CPU time does not grow with other processes' load; wall time does)."""
    return (f"  {label:<28} {n / wall:7.1f} {unit}/s wall  {1000 * cpu / n:7.0f} ms CPU each  "
            f"-> {study_n} on 2 idle cores ~ {study_n * cpu / n / 2:6.1f} s")


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def make_images(folder: Path, n: int, size: tuple[int, int], style: str, stem, distinct: int = 8) -> list[Path]:
    """``n`` PNGs of ``size`` named by ``stem(i)``; ``distinct`` different images, copied."""
    folder.mkdir(parents=True)
    small = scaled(GTA5_SIZE if style == "game" else CITYSCAPES_SIZE, 0.25)
    originals = []
    for k in range(distinct):
        image = Image.fromarray(scene(7, style, k, *small, style=style)[0]).resize(size, Image.BICUBIC)
        noisy = np.asarray(image, dtype=np.float32) + np.random.default_rng(k).normal(0, 6, (size[1], size[0], 3))
        originals.append(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    paths = []
    for i in range(n):
        path = folder / f"{stem(i)}.png"
        if i < distinct:
            Image.fromarray(originals[i]).save(path, compress_level=1)
        else:
            shutil.copyfile(paths[i % distinct], path)
        paths.append(path)
    return paths


def distinct_colour_fraction(path: Path) -> float:
    flat = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).astype(np.uint32)
    return len(np.unique((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2])) / len(flat)


def _io_only(jobs: list[tuple[Path, Path, Path]]) -> int:
    """The floor every normalizer pays: read a source and a reference, write a PNG."""
    for src, ref, dest in jobs:
        refs.read_rgb(ref)
        refs.write_png(dest, refs.read_rgb(src))
    return len(jobs)


def bench_size(label: str, source_size, target_size, n_images: int, args, root: Path) -> list[str]:
    sources = make_images(root / "gta5", n_images, source_size, "game", lambda i: f"{i + 1:05d}")
    targets = make_images(root / "cityscapes", args.targets, target_size, "real", lambda i: f"aachen_{i:06d}_000019_leftImg8bit")
    ctx = Context("gta5", "cityscapes", seed=0, train_images={"cityscapes": targets}, num_workers=args.workers)
    rows = [f"{label}: sources {source_size[0]}x{source_size[1]} (distinct colours {distinct_colour_fraction(sources[0]):.0%} "
            f"of pixels), references {target_size[0]}x{target_size[1]}, {args.workers} worker(s)"]
    out = root / "io"
    out.mkdir()
    pairs = refs.paired_references(sources, refs.target_references(ctx), 0)
    jobs = [(s, r, out / s.name) for s, r in zip(sources, pairs)]
    wall, cpu = timed(lambda: refs.run_batches(_io_only, jobs, args.workers, 8))
    rows.append(row("PNG i/o only (the floor)", n_images, wall, cpu, STUDY_SOURCES))
    fitted = {}
    for name, apply in SETTINGS:
        cls = get(name)
        normalizer = cls(cls.Fit(), from_dict(cls.Apply, apply, f"{name}.apply"))
        fit_dir = root / f"fit_{name}"
        if name != "fda" and name not in fitted:
            fit_dir.mkdir()
            wall, cpu = timed(lambda: normalizer.fit(ctx, fit_dir))
            fitted[name] = wall
            rows.append(row(f"{name} fit (targets)", args.targets, wall, cpu, STUDY_TARGET_TRAIN))
        out = root / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        dests = [out / p.name for p in sources]
        wall, cpu = timed(lambda: normalizer.apply(ctx, fit_dir if name in fitted else root / "nofit", sources, dests))
        setting = f"{name} {' '.join(f'{k}={v}' for k, v in apply.items())}"
        rows.append(row(setting, n_images, wall, cpu, STUDY_SOURCES))
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="processes (ctx.num_workers)")
    parser.add_argument("--images", type=int, default=96, help="source images timed per setting, embedded size")
    parser.add_argument("--full-images", type=int, default=24, help="source images timed per setting, full size")
    parser.add_argument("--targets", type=int, default=16, help="target training images (references)")
    parser.add_argument("--skip-full", action="store_true", help="only the embedded default's size")
    args = parser.parse_args()
    print(f"load before: {load()}  ({os.cpu_count()} cores)", flush=True)
    sizes = [("embedded default (scale 0.25)", scaled(GTA5_SIZE, 0.25), scaled(CITYSCAPES_SIZE, 0.25), args.images)]
    if not args.skip_full:
        sizes.append(("full size", GTA5_SIZE, CITYSCAPES_SIZE, args.full_images))
    report = []
    for label, source_size, target_size, n_images in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            report += bench_size(label, source_size, target_size, n_images, args, Path(tmp))
    print("\n".join(report))
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
