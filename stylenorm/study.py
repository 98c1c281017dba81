"""What the stages share: a normalizer's context (fit, normalize) and the main-process test under
torchrun. Training and scoring a cell is ``stylenorm.cells``."""
from __future__ import annotations

import os

from stylenorm import paths
from stylenorm.normalizers import Context

PAIR = paths.PAIR


def other_domain(domain: str) -> str:
    """The pair's other domain."""
    (other,) = [d for d in PAIR if d != domain]
    return other


def normalizer_context(name: str, seed: int, params, source_domain: str = paths.SOURCE_DOMAIN) -> Context:
    """Images of ``source_domain`` into the other domain's style (the first study's: GTA5 into
    Cityscapes); only training-split images are given."""
    return Context(source_domain=source_domain, target_domain=other_domain(source_domain), seed=seed,
                   train_images={d: paths.split_image_paths(d, "train") for d in PAIR},
                   device=params.base.device, num_workers=params.base.num_workers,
                   work_dir=paths.fit_work_dir(name, seed))


def is_main_process() -> bool:
    """Rank 0 under torchrun (or the only process)."""
    return int(os.environ.get("RANK", "0")) == 0
