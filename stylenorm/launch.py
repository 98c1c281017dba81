"""Run a training stage on ``nproc`` processes: ``python -m stylenorm.launch <nproc> <module> [arg ...]``.

dvc.yaml's trainers (fit, train_seg, train_oracle) run through this, with ``nproc`` = params'
``base.nproc``, so that a DDP run is a ``dvc repro`` like any other and dvc.lock records it:
with 1 the stage module runs in this process (no launcher's start-up cost); with more, under
``torchrun --standalone`` (``torch.distributed.run``), one process per GPU (or CPU process on
gloo), which the trainers detect through ``WORLD_SIZE``.
"""
from __future__ import annotations

import os
import runpy
import sys


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or not argv[0].isdigit() or int(argv[0]) < 1:
        sys.exit("usage: python -m stylenorm.launch <nproc >= 1> <module> [arg ...]  (nproc: params base.nproc)")
    nproc, module, args = int(argv[0]), argv[1], argv[2:]
    if nproc == 1:
        sys.argv = [module, *args]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", module, *args]
    sys.stdout.flush()
    os.execv(sys.executable, cmd)


if __name__ == "__main__":
    main()
