"""What every stage's ``main`` shares: argument parsing, params loading, clean errors."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, Sequence

from stylenorm.config import ConfigError, load_params
from stylenorm.datasets import DatasetError


def run_stage(doc: str, fn: Callable, item: tuple[str, Sequence[str]] | None = None) -> None:
    """``python -m stages.X [item]``: call ``fn([item,] params)`` and print its summary as JSON.

    ``item`` is (argument name, choices), e.g. ("domain", DOMAINS). Bad input (params, datasets)
    ends with one ``error:`` line naming the key or file, and exit status 1.
    """
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    if item:
        parser.add_argument(item[0], choices=item[1])
    args = parser.parse_args()
    try:
        params = load_params()
        summary = fn(getattr(args, item[0]), params) if item else fn(params)
    except (ConfigError, DatasetError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(summary))
