"""Stage ``split``: one domain's kept pairs into train and test lists.

Reads   params ``base.seed``, ``split``; data/unified/<domain>/index.csv.
Writes  data/splits/<domain>/train.csv and test.csv (columns id, width, height).
Run     python -m stages.split <cityscapes|gta5>
"""
from __future__ import annotations

import pandas as pd

from stylenorm import paths
from stylenorm.cli import run_stage
from stylenorm.config import DOMAINS
from stylenorm.datasets import DatasetError
from stylenorm.io import atomic_dir, remove_outputs
from stylenorm.splits import split_index


def split(domain: str, params) -> dict:
    index_path = paths.unified_dir(domain) / paths.INDEX
    if not index_path.exists():
        raise DatasetError(f"{index_path}: missing (run the unify_labels stage first)")
    index = pd.read_csv(index_path, dtype={"id": str})
    train, test = split_index(index, params.split.test_fraction, params.base.seed, domain)
    out_dir = paths.splits_dir(domain)
    remove_outputs(out_dir)
    with atomic_dir(out_dir) as tmp:
        train.to_csv(tmp / paths.TRAIN_LIST, index=False)
        test.to_csv(tmp / paths.TEST_LIST, index=False)
    return {"train": len(train), "test": len(test)}


def main() -> None:
    run_stage(__doc__, split, ("domain", DOMAINS))

if __name__ == "__main__":
    main()
