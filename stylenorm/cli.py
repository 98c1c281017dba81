"""What every stage's ``main`` shares: argument parsing, params loading, clean errors."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from stylenorm.config import DOMAINS, ConfigError, load_params
from stylenorm.datasets import DatasetError


def run_domain_stage(doc: str, fn: Callable[[str, object], dict]) -> None:
    """``python -m stages.X <domain>``: call ``fn(domain, params)`` and print its summary.

    Bad input (params, datasets) ends with one ``error:`` line naming the key or file and exit 1.
    """
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("domain", choices=DOMAINS)
    args = parser.parse_args()
    try:
        summary = fn(args.domain, load_params())
    except (ConfigError, DatasetError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(summary))
