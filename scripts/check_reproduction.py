"""Does a fresh clone's `dvc repro` rebuild the committed results?

Clones the repository at a revision into a scratch folder (its own empty DVC cache: nothing
trained is restored, no checkpoint is resumed), runs `dvc repro` there, then compares:

- ``metrics/table.md``, the README's tables: must be identical, character for character, i.e.
  every number equal to the precision the table prints (the check fails otherwise);
- every other committed metrics file (``metrics/**/*.json``): the largest absolute difference
  of any number, and which keys moved (timings such as ``seconds`` are expected to);
- every stage output's hash in ``dvc.lock``: which outputs were rebuilt byte for byte.

Before the repro every output dvc.yaml declares is deleted from the clone, so nothing committed can
pass without being rebuilt. The check fails (exit 1) when the tables differ, a committed metrics
file or key is not rebuilt, or dvc.lock keeps entries of stages that no longer exist; a repro that
fails exits 2. Writes a JSON report (``--report``, default reproduction.json in the scratch folder)
with the environment (CPU, bf16 support, threads, versions). Floating-point results depend on the
CPU's instruction set and thread count (oneDNN picks kernels by both), so compare on the machine
kind the results came from.

    make check-repro                       # HEAD, in a temporary folder
    python scripts/check_reproduction.py --rev v1 --workdir /tmp/check --keep
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TABLE = "metrics/table.md"
TIMING_KEYS = {"seconds", "images_per_second", "wall_s"}  # speed, not results: reported, never a failure


def numbers(obj, prefix: str = "") -> dict[str, float]:
    """Flat ``{dotted.key: value}`` of every number (bools excluded) in a JSON value."""
    if isinstance(obj, dict):
        return {k: v for key, val in obj.items() for k, v in numbers(val, f"{prefix}{key}.").items()}
    if isinstance(obj, list):
        return {k: v for i, val in enumerate(obj) for k, v in numbers(val, f"{prefix}{i}.").items()}
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return {prefix.rstrip("."): float(obj)}
    return {}


def compare_json(committed, rebuilt) -> dict:
    """Keys missing on either side, and the numbers that moved, largest difference first."""
    a, b = numbers(committed), numbers(rebuilt)
    moved = {}
    for key in a.keys() & b.keys():
        x, y = a[key], b[key]
        if not (x == y or (math.isnan(x) and math.isnan(y))):
            moved[key] = abs(x - y)
    results = {k: d for k, d in moved.items() if k.rsplit(".", 1)[-1] not in TIMING_KEYS}
    return {"missing": sorted(a.keys() - b.keys()), "added": sorted(b.keys() - a.keys()),
            "max_abs_diff": max(results.values(), default=0.0),
            "moved": dict(sorted(results.items(), key=lambda kv: -kv[1])[:10]),
            "timings_moved": sorted(set(moved) - set(results))}


def lock_stages(root: Path) -> dict:
    """The ``stages`` of ``root``/dvc.lock (empty when there is none)."""
    path = root / "dvc.lock"
    return ((yaml.safe_load(path.read_text()) or {}).get("stages") or {}) if path.exists() else {}


def lock_hashes(lock: dict) -> dict[str, str]:
    """``{stage:out path: md5}`` of every output recorded in a dvc.lock's ``stages``."""
    return {f"{stage}:{out['path']}": out.get("md5", "") for stage, entry in lock.items() for out in entry.get("outs", [])}


def compare(committed_root: Path, rebuilt_root: Path, stages: set[str] | None = None) -> dict:
    """The whole comparison. ``report["reproduced"]``: the printed tables are equal, every committed
    metrics file was rebuilt with the same keys, and the committed dvc.lock has no entry for a stage
    that no longer exists (``stages``: dvc.yaml's stage names, when known)."""
    table_a, table_b = (r / TABLE for r in (committed_root, rebuilt_root))
    if not table_a.exists():
        raise FileNotFoundError(f"{table_a}: the committed table is missing")
    same_table = table_b.exists() and table_a.read_text() == table_b.read_text()
    files = {}
    for path in sorted(committed_root.glob("metrics/**/*.json")):
        rel = path.relative_to(committed_root).as_posix()
        other = rebuilt_root / rel
        files[rel] = (compare_json(json.loads(path.read_text()), json.loads(other.read_text()))
                      if other.exists() else {"missing_file": True})
    incomplete = sorted(rel for rel, c in files.items() if c.get("missing_file") or c.get("missing") or c.get("added"))
    lock_a = lock_stages(committed_root)
    hashes_a, hashes_b = lock_hashes(lock_a), lock_hashes(lock_stages(rebuilt_root))
    same = sorted(k for k in hashes_a if hashes_a[k] and hashes_b.get(k) == hashes_a[k])
    differ = sorted(k for k in hashes_a if k not in same)
    stale = sorted(set(lock_a) - stages) if stages is not None else []
    return {"reproduced": same_table and not incomplete and not stale,
            "table_identical": same_table, "metrics_incomplete": incomplete, "stale_lock_entries": stale,
            "table_committed": table_a.read_text(), "table_rebuilt": table_b.read_text() if table_b.exists() else None,
            "metrics": files, "outputs_identical": same, "outputs_different": differ}


def environment() -> dict:
    """What floating-point results depend on: CPU model and its bf16 support, threads, library versions."""
    import platform
    import torch
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
               platform.processor())
    return {"cpu": cpu, "cpu_bf16": "avx512_bf16" in info or "amx_bf16" in info, "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version()}


def _run(cmd: list[str], cwd: Path, env: dict) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, env=env, check=True)


def _git(args: list[str], cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def stage_outputs(root: Path) -> tuple[set[str], list[str]]:
    """dvc.yaml's stage names and every output path its stages declare."""
    from dvc.repo import Repo
    with Repo(str(root)) as r:
        stages = list(r.index.stages)
        return {s.name for s in stages}, sorted({o.def_path for s in stages for o in s.outs})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", type=Path, default=REPO, help="repository to clone (default: this one)")
    ap.add_argument("--rev", default="HEAD", help="revision whose committed results are checked (default HEAD)")
    ap.add_argument("--workdir", type=Path, help="scratch folder for the clone (default: a new temporary folder)")
    ap.add_argument("--report", type=Path, help="where the JSON report goes (default <workdir>/reproduction.json)")
    ap.add_argument("--keep", action="store_true", help="keep the clone (default: removed when the check passes)")
    args = ap.parse_args(argv)
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="stylenorm-repro-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    clone, committed = work / "clone", work / "committed"
    for d in (clone, committed):
        if d.exists():
            raise SystemExit(f"{d} exists: pass an empty --workdir")
    out = (args.report or work / "reproduction.json").resolve()
    repo = args.repo.resolve()
    if _git(["status", "--porcelain", "--untracked-files=no"], repo).strip():
        print(f"warning: {repo} has uncommitted changes; the check is of the committed revision {args.rev}", file=sys.stderr)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", DVC_NO_ANALYTICS="1")
    _run(["git", "clone", "--quiet", "--no-local", str(repo), str(clone)], work, env)
    _run(["git", "checkout", "--quiet", args.rev], clone, env)
    # The revision's results, kept aside; then every declared output goes, so that nothing committed
    # (tables, metrics, plots, logs) can pass the comparison without being rebuilt.
    shutil.copytree(clone / "metrics", committed / "metrics")
    shutil.copy2(clone / "dvc.lock", committed / "dvc.lock")
    stages, outputs = stage_outputs(clone)
    for rel in ["metrics", *outputs]:  # all of metrics/ too: a committed file no stage writes is not rebuilt
        path = clone / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    report = {"rev": _git(["rev-parse", "HEAD"], clone).strip(), "environment": environment()}
    start = time.time()
    try:
        _run([sys.executable, "-m", "dvc", "repro", "--force"], clone, env)
    except subprocess.CalledProcessError as exc:
        report.update(reproduced=False, error=f"`dvc repro` failed in {clone} (exit {exc.returncode}); see its output above")
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"error: {report['error']}; report: {out}", file=sys.stderr)
        return 2
    report["repro_minutes"] = round((time.time() - start) / 60, 1)
    report.update(compare(committed, clone, stages))
    # tracked files the repro rewrote differently (plots, logs): not a failure, but listed
    report["tracked_files_changed"] = [line[3:] for line in _git(["status", "--porcelain", "--untracked-files=no"], clone).splitlines()]
    out.write_text(json.dumps(report, indent=2) + "\n")
    largest = max((m.get("max_abs_diff", math.inf) for m in report["metrics"].values()), default=0)
    print(f"tables {'identical' if report['table_identical'] else 'DIFFER'}; metrics incomplete: {report['metrics_incomplete'] or 'none'}; "
          f"stale dvc.lock entries: {report['stale_lock_entries'] or 'none'}; outputs byte-identical: "
          f"{len(report['outputs_identical'])}/{len(report['outputs_identical']) + len(report['outputs_different'])}; "
          f"largest metric difference: {largest:.3g}; repro {report['repro_minutes']} min; report: {out}")
    if not report["table_identical"]:
        print("committed:\n" + report["table_committed"] + "\nrebuilt:\n" + (report["table_rebuilt"] or "(missing)"))
    if report["reproduced"] and not args.keep and not args.workdir:
        shutil.rmtree(clone)
    return 0 if report["reproduced"] else 1


if __name__ == "__main__":
    sys.exit(main())
