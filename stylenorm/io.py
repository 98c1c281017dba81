"""Writing outputs so that a failure leaves nothing half-written.

Stages build every output directory next to its final place and rename it in at
the end (``atomic_dir``); single files go through a temporary sibling and
``os.replace`` (``write_text_atomic``). A stage that raises leaves the previous
state, which DVC has already cleared, so ``dvc repro`` simply runs it again.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

import pandas as pd


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary directory that replaces ``path`` only if the block succeeds."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)


def write_text_atomic(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: str | Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_csv(path: str | Path, frame: pd.DataFrame) -> None:
    write_text_atomic(path, frame.to_csv(index=False))


def remove_outputs(*paths: str | Path) -> None:
    """Delete outputs of an earlier run (DVC does this too; plain ``python -m`` runs need it)."""
    for path in map(Path, paths):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def truncate_live_logs(live_dir: Path, last_step: int) -> None:
    """Drop DVCLive rows logged after ``last_step``: a killed run logs past its last checkpoint,
    and the resumed run logs those steps again."""
    for tsv in (Path(live_dir) / "plots" / "metrics").rglob("*.tsv"):
        with tsv.open() as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows:
            continue
        with tsv.open("w", newline="") as f:  # "\n" as DVCLive writes them, not csv's default "\r\n"
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
            writer.writeheader()
            writer.writerows(r for r in rows if int(r["step"]) <= last_step)
