"""What the stages share: a normalizer's context (fit, normalize) and the main-process test under
torchrun. Training and scoring a cell is ``stylenorm.cells``."""
from __future__ import annotations

import os

from stylenorm import paths
from stylenorm.normalizers import Context


def other_domain(domain: str, pair: tuple[str, str]) -> str:
    """The pair's other domain."""
    (other,) = [d for d in pair if d != domain]
    return other


def normalizer_context(name: str, seed: int, params, source_domain: str | None = None) -> Context:
    """Images of ``source_domain`` (default: ``study.source``) into the pair's other domain's style (the
    first study's: GTA5 into Cityscapes); only training-split images are given."""
    pair = params.study.pair
    source_domain = source_domain or pair[0]
    return Context(source_domain=source_domain, target_domain=other_domain(source_domain, pair), seed=seed, pair=pair,
                   train_images={d: paths.split_image_paths(d, "train") for d in pair},
                   device=params.base.device, num_workers=params.base.num_workers,
                   work_dir=paths.fit_work_dir(name, pair, seed))


def is_main_process() -> bool:
    """Rank 0 under torchrun (or the only process)."""
    return int(os.environ.get("RANK", "0")) == 0
