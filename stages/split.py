"""Stage ``split``: one domain's kept pairs into train, val and test lists.

Reads   params ``base.data_seed``, ``split``; data/unified/<domain>/index.csv.
Writes  data/splits/<domain>/{train,val,test}.csv (columns id, width, height).
Run     python -m stages.split <domain>
"""
from __future__ import annotations

import pandas as pd

from stylenorm import domains, paths
from stylenorm.cli import run_stage
from stylenorm.datasets import DatasetError
from stylenorm.io import atomic_dir, remove_outputs
from stylenorm.splits import split_index


def split(domain: str, params) -> dict:
    index_path = paths.unified_dir(domain) / paths.INDEX
    if not index_path.exists():
        raise DatasetError(f"{index_path}: missing (run the unify_labels stage first)")
    index = pd.read_csv(index_path, dtype={"id": str})
    parts = split_index(index, params.split.val_fraction, params.split.test_fraction, params.base.data_seed,
                        domains.get(domain).stream, domain)
    out_dir = paths.splits_dir(domain)
    remove_outputs(out_dir)
    with atomic_dir(out_dir) as tmp:
        for name, frame in parts.items():
            frame.to_csv(tmp / f"{name}.csv", index=False)
    return {name: len(frame) for name, frame in parts.items()}


def main() -> None:
    run_stage(__doc__, split, ("domain", domains.available()))

if __name__ == "__main__":
    main()
