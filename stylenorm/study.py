"""What the stages of one grid cell share: a normalizer's context, and the images each cell reads."""
from __future__ import annotations

import os
from pathlib import Path

from stylenorm import paths
from stylenorm.config import DOMAINS
from stylenorm.normalizers import Context


def image_source(domain: str, split: str, images_dir: Path) -> dict:
    """One entry of a segmentation dataset's ``sources``: a split list and where its images are read from."""
    return dict(domain=domain, split=split, images=Path(images_dir).as_posix())


def normalizer_context(name: str, seed: int, params) -> Context:
    """The first study's direction (GTA5 into the Cityscapes style); only training-split images are given."""
    return Context(source_domain=paths.SOURCE_DOMAIN, target_domain=paths.TARGET_DOMAIN, seed=seed,
                   train_images={d: paths.split_image_paths(d, "train") for d in DOMAINS},
                   device=params.base.device, num_workers=params.base.num_workers,
                   work_dir=paths.fit_work_dir(name, seed))


def seg_sources(name: str, fit_seed: int, split: str) -> list[dict]:
    """The first study's training data: raw Cityscapes + GTA5 after normalizer ``name``."""
    return [image_source("cityscapes", split, paths.sampled_dir("cityscapes") / paths.IMAGES),
            image_source("gta5", split, paths.normalized_dir(name, fit_seed, "gta5") / paths.IMAGES)]


def is_main_process() -> bool:
    """Rank 0 under torchrun (or the only process)."""
    return int(os.environ.get("RANK", "0")) == 0
