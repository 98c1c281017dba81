"""Deterministic train / val / test partition of a domain's kept pairs.

The test split is drawn first and does not depend on ``val_fraction``: changing how much is held
out for validation never moves a test image. Validation is for tuning (learning rate, loss curves);
the test split is touched only for the final table.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SPLIT_STREAM_OFFSET = 10  # the split draws with [seed, Domain.stream + 10], apart from the sample's [seed, Domain.stream]


def split_index(index: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int, stream: int,
                domain: str) -> dict[str, pd.DataFrame]:
    """{"train", "val", "test"}: ``round(n * test_fraction)`` rows to test, ``round(n * val_fraction)`` to
    val, the rest to train; each sorted by id. ``seed`` is the data seed (base.data_seed), ``stream`` the
    domain's (``Domain.stream``)."""
    n = len(index)
    n_test, n_val = int(round(n * test_fraction)), int(round(n * val_fraction))
    if not (0 < n_test and 0 < n_val and n_test + n_val < n):
        raise ValueError(f"{domain}: val_fraction {val_fraction} and test_fraction {test_fraction} of {n} pairs "
                         "leave an empty split")
    order = np.random.default_rng([seed, stream + SPLIT_STREAM_OFFSET]).permutation(n)
    part = np.full(n, "train", dtype=object)
    part[order[:n_test]] = "test"
    part[order[n_test : n_test + n_val]] = "val"
    ordered = index.sort_values("id").reset_index(drop=True)
    return {name: ordered[part == name].reset_index(drop=True) for name in ("train", "val", "test")}
