"""Deterministic train/test partition of a domain's kept pairs."""
from __future__ import annotations

import numpy as np
import pandas as pd

_DOMAIN_STREAM = {"cityscapes": 11, "gta5": 12}


def split_index(index: pd.DataFrame, test_fraction: float, seed: int, domain: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): ``round(n * test_fraction)`` rows go to test, the rest to train, each sorted by id."""
    n = len(index)
    n_test = int(round(n * test_fraction))
    if not 0 < n_test < n:
        raise ValueError(f"{domain}: test_fraction {test_fraction} of {n} pairs leaves an empty split")
    order = np.random.default_rng([seed, _DOMAIN_STREAM[domain]]).permutation(n)
    is_test = np.zeros(n, dtype=bool)
    is_test[order[:n_test]] = True
    ordered = index.sort_values("id").reset_index(drop=True)
    return ordered[~is_test].reset_index(drop=True), ordered[is_test].reset_index(drop=True)
