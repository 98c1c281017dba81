"""What every stage's ``main`` shares: argument parsing, params loading, clean errors."""
from __future__ import annotations

import argparse
import atexit
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from stylenorm.config import ConfigError, load_params
from stylenorm.datasets import DatasetError

Arg = tuple[str, Sequence[str] | type]


def run_stage(doc: str, fn: Callable, *args: Arg | None, load: Callable = load_params) -> None:
    """``python -m stages.X [arg ...]``: call ``fn(*args, params)`` and print its summary as JSON.

    Each arg is (name, choices) or (name, type), e.g. ("domain", domains.available()), ("seed", int). ``load``
    reads params.yaml: the stage sections (``stylenorm.config``), or with a stage that builds a
    normalizer or protocol, ``stylenorm.components.load_params``. Bad input (params, datasets) ends
    with one ``error:`` line naming the key or file, and exit status 1.
    """
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    args = [a for a in args if a]
    for name, kind in args:
        if isinstance(kind, type):
            parser.add_argument(name, type=kind)
        else:
            parser.add_argument(name, choices=kind)
    ns = parser.parse_args()
    if os.environ.get("STYLENORM_AUDIT_DIR"):
        audit_reads(Path(os.environ["STYLENORM_AUDIT_DIR"]))
    try:
        params = load()
        summary = fn(*(getattr(ns, name) for name, _ in args), params)
    except (ConfigError, DatasetError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(summary))


def audit_reads(log_dir: Path) -> None:
    """Record every file this process opens for reading below the working directory, into
    ``log_dir/<pid>.json`` at exit (with argv). Tests use it to check that each stage reads only
    what dvc.yaml declares. Costs one set lookup per open."""
    root = Path.cwd().resolve()
    reads: set[str] = set()

    def hook(event: str, args: tuple) -> None:
        if event != "open" or not args or not isinstance(args[0], (str, os.PathLike)):
            return
        mode, flags = (args[1] if len(args) > 1 else "r"), (args[2] if len(args) > 2 else 0)
        reading = (not any(c in mode for c in "wax+")) if isinstance(mode, str) else (flags & os.O_ACCMODE) == os.O_RDONLY
        if reading:
            path = Path(os.path.abspath(args[0]))
            if path.is_relative_to(root) and path.is_file():
                reads.add(path.relative_to(root).as_posix())

    def dump() -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / f"{os.getpid()}.json").write_text(json.dumps({"argv": sys.argv, "reads": sorted(reads)}))

    sys.addaudithook(hook)
    atexit.register(dump)
