"""Which torch device a stage runs on (``base.device``)."""
from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    """``auto`` = cuda when available, else cpu; ``cuda`` without a GPU is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("base.device is 'cuda' but no CUDA device is available (use 'auto' or 'cpu')")
    return torch.device(name)
