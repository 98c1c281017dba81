"""Stage ``fit``: fit one normalizer (train a translator; nothing to do for training-free ones).

Reads   params ``base.device``, ``base.num_workers``, ``study.source``, ``study.target``, ``<normalizer>.fit``;
        the *training* splits of both domains of the pair (validation and test images are never used).
Writes  models/normalizers/<source>-<target>/<normalizer>/seed<seed>/ (a translator's model.pt + config.yaml,
        its live/ losses and image grids; resolved.yaml for every normalizer);
        models/normalizers_work/<source>-<target>/<normalizer>/seed<seed>/ (resume point, kept between runs).
Run     python -m stages.fit <normalizer> <seed>
        dvc exp run -S base.nproc=4    # several GPUs, DDP: dvc.yaml runs python -m stylenorm.launch 4 stages.fit ...
A killed translator resumes from its last checkpoint on the next ``dvc repro``.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from stylenorm import components, paths
from stylenorm.cli import run_stage
from stylenorm.io import atomic_dir, remove_outputs
from stylenorm.study import is_main_process, normalizer_context


def fit(name: str, seed: int, params) -> dict:
    normalizer = params.normalizer(name).build()
    ctx = normalizer_context(name, seed, params)
    out_dir = paths.fit_dir(name, params.study.pair, seed)
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    if not is_main_process():  # under torchrun only rank 0 writes
        with tempfile.TemporaryDirectory() as tmp:
            return normalizer.fit(ctx, Path(tmp))
    remove_outputs(out_dir)
    with atomic_dir(out_dir) as tmp:
        summary = normalizer.fit(ctx, tmp)
        (tmp / "resolved.yaml").write_text(yaml.safe_dump({**normalizer.resolved(), "seed": seed}, sort_keys=False))
    return summary


def main() -> None:
    run_stage(__doc__, fit, ("normalizer", str), ("seed", int), load=components.load_params)

if __name__ == "__main__":
    main()
