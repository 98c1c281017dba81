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
import io
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
    and the resumed run logs those steps again. DVCLive writes neither a row nor its summary
    atomically, so a kill can leave a row cut short (no newline yet: dropped) or an unreadable
    ``metrics.json`` (removed; the resumed run writes it again at its next log)."""
    summary = Path(live_dir) / "metrics.json"
    if summary.exists():
        try:
            json.loads(summary.read_text())
        except ValueError:
            summary.unlink()
    for tsv in (Path(live_dir) / "plots" / "metrics").rglob("*.tsv"):
        written = tsv.read_text()
        text = written[:written.rfind("\n") + 1]  # without the row being written when the run was killed
        rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
        if not rows:
            if not text:
                tsv.unlink()  # cut in its header: DVCLive writes the file anew
            elif text != written:
                tsv.write_text(text)
            continue
        with tsv.open("w", newline="") as f:  # "\n" as DVCLive writes them, not csv's default "\r\n"
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
            writer.writeheader()
            writer.writerows(r for r in rows if int(r["step"]) <= last_step)
