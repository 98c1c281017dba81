"""Benchmark: the dispatcher (stylenorm/dispatch.py) on the tiny grid, one local worker against two.

Back to back, each in a fresh tiny-profile repository with its own empty DVC cache: a plain `dvc repro`
(the reference; --skip-plain leaves it out), the dispatcher with one worker and with two, every process
at one thread (OMP_NUM_THREADS=1, --threads-per-job 1). Prints the CPU, the load average before each
run, the wall times, two workers' speed-up over one, whether the tables are identical, and, from each
dispatch's job seconds (.dvc/tmp/dispatch/last_run.json): their sum, the critical path through the
jobs, and the makespan that one job per worker gives for 1, 2 and 8 workers (a greedy list schedule,
as Dask runs ready tasks; the start-up and the restore in the workspace come on top).

    python benchmarks/bench_dispatch.py                 # about 10 minutes on 2 idle cores
    python benchmarks/bench_dispatch.py --skip-plain
    python benchmarks/bench_dispatch.py --from-run .dvc/tmp/dispatch/last_run.json --workers 1 2 8
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests/ (tiny_repo), as pytest sees it


def cpu_model() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                platform.processor())


def critical_path(seconds: dict[str, float], upstream: dict[str, list[str]]) -> float:
    finish: dict[str, float] = {}
    for stage in seconds:  # in level order: upstream first
        finish[stage] = seconds[stage] + max((finish[u] for u in upstream[stage]), default=0.0)
    return max(finish.values(), default=0.0)


def makespan(seconds: dict[str, float], upstream: dict[str, list[str]], workers: int) -> float:
    """Wall time of the jobs on ``workers`` workers, one job each, a ready job started whenever one is free."""
    done_at: dict[str, float] = {}
    running: list[tuple[float, str]] = []
    waiting, now = list(seconds), 0.0
    while waiting or running:
        ready = [s for s in waiting if all(u in done_at and done_at[u] <= now for u in upstream[s])]
        while ready and len(running) < workers:
            stage = ready.pop(0)
            waiting.remove(stage)
            running.append((now + seconds[stage], stage))
        running.sort()
        now, stage = running.pop(0)
        done_at[stage] = now
    return now


def describe(run: dict, workers: list[int]) -> str:
    order = [s for level in run["levels"] for s in level]  # upstream first
    seconds = {s: run["jobs"][s]["seconds"] for s in order if run["jobs"][s]["status"] == "done"}
    upstream = {s: [u for u in run["upstream"][s] if u in seconds] for s in seconds}
    lines = [f"  jobs: {len(seconds)}, sum of job seconds {sum(seconds.values()):.1f} s, "
             f"critical path {critical_path(seconds, upstream):.1f} s"]
    for n in workers:
        lines.append(f"  {n} worker(s): makespan {makespan(seconds, upstream, n):.1f} s")
    return "\n".join(lines)


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    print(f"load average {os.getloadavg()}; + {' '.join(cmd)}  (in {cwd})", flush=True)
    start = time.time()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skip-plain", action="store_true", help="leave out the plain `dvc repro`")
    ap.add_argument("--from-run", type=Path, help="only describe this last_run.json (no run)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 8], help="worker counts for the makespans")
    ap.add_argument("--workdir", type=Path, help="where the repositories go (default: a temporary folder)")
    args = ap.parse_args()
    if args.from_run:
        print(describe(json.loads(args.from_run.read_text()), args.workers))
        return
    from tests.test_pipeline import env, tiny_repo

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                           text=True).stdout.strip()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs; commit {commit}{' (uncommitted changes)' if dirty else ''}")
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="bench-dispatch-"))).resolve()
    one = {**env(), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    runs = ([("plain dvc repro", [sys.executable, "-m", "dvc", "repro"])] if not args.skip_plain else []) + [
        (f"dispatch, {n} worker(s)", [sys.executable, "-m", "stylenorm.dispatch", "--workers", str(n), "--threads-per-job", "1"])
        for n in (1, 2)]
    walls, tables = {}, {}
    for i, (name, cmd) in enumerate(runs):
        root = tiny_repo(work / f"run{i}")
        walls[name] = timed(cmd, root, one)
        tables[name] = (root / "metrics" / "table.md").read_text()
        print(f"{name}: {walls[name]:.1f} s", flush=True)
        if cmd[2] == "stylenorm.dispatch":
            print(describe(json.loads((root / ".dvc/tmp/dispatch/last_run.json").read_text()), args.workers), flush=True)
    names = [n for n, _ in runs]
    print(f"two workers / one worker: {walls[names[-2]] / walls[names[-1]]:.2f}x faster; tables identical: "
          f"{len(set(tables.values())) == 1}; repositories in {work}")


if __name__ == "__main__":
    main()
