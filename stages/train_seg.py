"""Stage ``train_seg``: one cell of the grid: a segmenter trained on what its protocol gives it.

Reads   params ``base``, ``study.fit_seeds``, ``study.source``, ``study.target``, ``seg``, ``<protocol>``; the config ``seg.config``
        (configs/, MMSeg _base_ composition); the protocol's training and validation images: raw
        (data/sampled/<domain>) or after the normalizer (data/normalized/<source>-<target>/<normalizer>/seed<fit seed>/<domain>);
        unified labels; split lists. ``mixed``: the raw target + the normalized source (Cityscapes + GTA5
        by default); ``source_only``: the source domain after the normalizer (raw for identity), nothing of the target.
Writes  models/seg/<protocol>/<normalizer>/seed<seed>/{model.pth, config.py};
        models/seg_live/<protocol>/<normalizer>/seed<seed>/ (DVCLive: training loss and the
        validation loss per interval); models/seg_work/<source>-<target>/<protocol>/<normalizer>/seed<seed>/
        (MMEngine work_dir and resume checkpoint, kept between runs, one per pair).
Run     python -m stages.train_seg <protocol> <normalizer> <seed>
        dvc exp run -S base.nproc=4    # several GPUs (MMEngine DDP): python -m stylenorm.launch 4 stages.train_seg ...
A killed run resumes from its last checkpoint on the next ``dvc repro`` (same weights at the end).
"""
from __future__ import annotations

from stylenorm import components
from stylenorm.cli import run_stage
from stylenorm.cells import train_cell


def train_seg(protocol_name: str, name: str, seed: int, params) -> dict:
    protocol = params.protocol(protocol_name)
    if name not in params.normalizers:
        params.normalizer(name)  # the error naming the known sections
    fit_seed = params.study.fit_seed(seed)
    model = train_cell(protocol_name, name, seed, protocol.train_sources(name, fit_seed, "train"),
                       protocol.train_sources(name, fit_seed, "val"), params, params.study.pair)
    return {"model": model, "fit_seed": fit_seed}


def main() -> None:
    run_stage(__doc__, train_seg, ("protocol", str), ("normalizer", str), ("seed", int), load=components.load_params)

if __name__ == "__main__":
    main()
