"""Stage ``train_translator``: train UNIT to map GTA5 (A) into the Cityscapes style (B).

Reads   params ``base.seed``, ``base.device``, ``base.num_workers``, ``translator``; the train
        splits of both domains (test images are never used).
Writes  models/unit/{model.pt,config.yaml}; models/unit_checkpoints/last.pt (resume point,
        kept by DVC between runs); models/unit_live/ (DVCLive losses and image grids).
Run     python -m stages.train_translator
        torchrun --nproc_per_node=4 -m stages.train_translator   # several GPUs, DDP
A killed run resumes from its last checkpoint on the next ``dvc repro``.
"""
from __future__ import annotations

from stylenorm import paths
from stylenorm.cli import run_stage
from stylenorm.translators.train import train_unit


def train_translator(params) -> dict:
    model = train_unit(
        params.translator,
        paths_A=paths.split_image_paths(paths.SOURCE_DOMAIN, "train"),
        paths_B=paths.split_image_paths(paths.TARGET_DOMAIN, "train"),
        model_path=paths.UNIT_MODEL, ckpt_dir=paths.UNIT_CKPT_DIR, live_dir=paths.UNIT_LIVE_DIR,
        seed=params.base.seed, device=params.base.device, num_workers=params.base.num_workers,
    )
    return model.current_losses()


def main() -> None:
    run_stage(__doc__, train_translator)

if __name__ == "__main__":
    main()
