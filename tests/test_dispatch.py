"""The dispatcher (stylenorm/dispatch.py): stale stages as Dask jobs, each in its own clone, recorded in
the workspace from DVC's run cache.

A toy pipeline of one-line commands checks the plan (stale set, levels, what runs in the workspace),
the workspace check, and a failed job (its downstream jobs skipped, the others recorded, a re-run
running only what is missing); the tiny 2 x 2 grid, dispatched on two local workers with a fit that
fails and then passes, ends with metrics/table.md byte-identical to a plain one-thread `dvc repro`.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stylenorm import dispatch, paths
from tests.conftest import dvc, edit_params, env, run, tiny_repo

WRITE = "python -c \"import sys; open(sys.argv[1], 'w').write(''.join(open(p).read() for p in sys.argv[2:]))\""
# a -> b -> c, a -> d -> f, e alone; `end` reads c, d and f and keeps its output out of the cache (as the
# report's table), so DVC cannot restore it from the run cache: it runs in the workspace after the jobs.
# d fails while d.cfg says 'fail'.
TOY = {
    "a": {"cmd": f"{WRITE} a.txt in.txt", "deps": ["in.txt"], "outs": ["a.txt"]},
    "b": {"cmd": f"{WRITE} b.txt a.txt b.cfg", "deps": ["a.txt", "b.cfg"], "outs": ["b.txt"]},
    "c": {"cmd": f"{WRITE} c.txt b.txt", "deps": ["b.txt"], "outs": ["c.txt"]},
    "d": {"cmd": "python -c \"import sys; sys.exit(open('d.cfg').read() == 'fail')\" && " + f"{WRITE} d.txt a.txt d.cfg",
          "deps": ["a.txt", "d.cfg"], "outs": ["d.txt"]},
    "f": {"cmd": f"{WRITE} f.txt d.txt", "deps": ["d.txt"], "outs": ["f.txt"]},
    "e": {"cmd": f"{WRITE} e.txt other.txt", "deps": ["other.txt"], "outs": ["e.txt"]},
    "end": {"cmd": f"{WRITE} end.txt c.txt f.txt e.txt", "deps": ["c.txt", "f.txt", "e.txt"],
            "outs": [{"end.txt": {"cache": False}}]},
}


def toy_repo(root: Path, d_cfg: str = "ok", stages: dict = TOY) -> Path:
    root.mkdir(parents=True)
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    for name, text in {"in.txt": "in", "b.cfg": "b", "d.cfg": d_cfg, "other.txt": "other"}.items():
        (root / name).write_text(text)
    run(["git", "init", "-q"], root)
    dvc("init", "-q", cwd=root)
    commit(root, "toy")
    return root


def commit(root: Path, message: str) -> None:
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", message], root)


def dispatch_cli(root: Path, *args: str, **extra_env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stylenorm.dispatch", *args], cwd=root, env={**env(), **extra_env},
                          capture_output=True, text=True)


def last_run(root: Path) -> dict:
    return json.loads((root / ".dvc" / "tmp" / "dispatch" / "last_run.json").read_text())


def test_plan_is_the_stale_stages_and_their_downstream_by_level(tmp_path):
    root = toy_repo(tmp_path / "toy")
    fresh = dispatch.plan(root)
    assert fresh.levels == [["a", "e"], ["b", "d"], ["c", "f"]] and fresh.final == ["end"]
    assert fresh.upstream["f"] == ["d"] and fresh.upstream["a"] == []
    dvc("repro", cwd=root)
    assert dispatch.plan(root).jobs == []
    (root / "b.cfg").write_text("b2")  # `dvc status` names b alone; c and end read what b writes
    after = dispatch.plan(root)
    assert after.levels == [["b"], ["c"]] and after.final == ["end"] and after.upstream["c"] == ["b"]


def test_a_stage_the_run_cache_cannot_restore_may_not_come_before_a_job(tmp_path):
    stages = {**TOY, "b": {**TOY["b"], "outs": [{"b.txt": {"persist": True}}]}}
    root = toy_repo(tmp_path / "toy", stages=stages)
    with pytest.raises(dispatch.DispatchError, match="b cannot be restored from DVC's run cache.*: c, end"):
        dispatch.plan(root)


def test_workspace_changes_a_clone_would_miss_are_refused_by_name(tmp_path):
    root = toy_repo(tmp_path / "toy")
    (root / "notes.txt").write_text("not read by any stage")
    (root / "params.yaml").write_text("x: 1\n")  # copied into every clone
    dispatch.check_workspace(root)
    (root / "in.txt").write_text("edited")
    (root / "new.cfg").write_text("")
    stages = yaml.safe_load((root / "dvc.yaml").read_text())
    stages["stages"]["b"]["deps"].append("new.cfg")
    (root / "dvc.yaml").write_text(yaml.safe_dump(stages))
    with pytest.raises(dispatch.DispatchError, match=r"differ from HEAD.*: dvc.yaml, in.txt, new.cfg\. Commit"):
        dispatch.check_workspace(root)


def test_a_failed_job_skips_its_downstream_only_and_a_rerun_runs_only_what_is_missing(tmp_path):
    root = toy_repo(tmp_path / "toy", d_cfg="fail")
    first = dispatch_cli(root, "--workers", "2", "--threads-per-job", "1")
    assert first.returncode == 1, first.stdout + first.stderr
    jobs = last_run(root)["jobs"]
    assert {s: j["status"] for s, j in jobs.items()} == {"a": "done", "e": "done", "b": "done", "c": "done",
                                                         "d": "failed", "f": "skipped"}
    log = Path(jobs["d"]["log"])
    assert f"FAILED d: log {log}" in first.stdout and "skipped f (d failed)" in first.stdout
    assert "failed to reproduce 'd'" in log.read_text() and Path(jobs["d"]["clone"]).is_dir()
    assert not (root / "end.txt").exists()  # the workspace's stages wait for every job
    assert (root / "c.txt").read_text() == "inb"  # recorded in the workspace, dvc.lock included
    assert dispatch.plan(root).jobs == ["d", "f"]

    (root / "d.cfg").write_text("ok")
    commit(root, "d fixed")
    second = dispatch_cli(root, "--workers", "2", "--threads-per-job", "1")
    assert second.returncode == 0, second.stdout + second.stderr
    assert {s: j["ran"] for s, j in last_run(root)["jobs"].items()} == {"d": ["d"], "f": ["f"]}
    assert (root / "end.txt").read_text() == "inb" + "inok" + "other"
    assert "up to date" in dvc("status", cwd=root)


def test_dvc_gitignore_lines_in_a_directory_dependency_do_not_depend_on_the_order_jobs_ran(tmp_path):
    """DVC appends n/.gitignore's lines as outputs are first written, and z's dependency n hashes that file:
    z's clone restores y before x (dvc.yaml's order), the workspace x before y (its level, sorted)."""
    stages = {"y": {"cmd": f"{WRITE} n/y in.txt", "deps": ["in.txt"], "outs": ["n/y"]},
              "x": {"cmd": f"{WRITE} n/x in.txt", "deps": ["in.txt"], "outs": ["n/x"]},
              "z": {"cmd": f"{WRITE} z.txt n/x n/y", "deps": ["n"], "outs": ["z.txt"]}}
    root = toy_repo(tmp_path / "toy", stages=stages)
    (root / "n").mkdir()
    (root / "n" / "keep").write_text("")  # n exists in the commit, as data/normalized does
    commit(root, "n")
    result = dispatch_cli(root, "--workers", "2", "--threads-per-job", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / "z.txt").read_text() == "inin" and "up to date" in dvc("status", cwd=root)


def test_slurm_workers_are_one_job_slot_each_with_their_gpus():
    cluster = dispatch.jobqueue_cluster("slurm", threads=8, gpus_per_job=1, queue="gpu", memory="64GB",
                                        walltime="24:00:00", job_extra=["--account=lab"], log_dir=Path("/tmp"))
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -p gpu", "#SBATCH --cpus-per-task=8", "#SBATCH --gres=gpu:1", "#SBATCH --account=lab"):
        assert line in script, script
    assert f"{sys.executable} -m distributed.cli.dask_worker" in script and f"--resources {dispatch.SLOT}=1" in script


def test_two_workers_reproduce_the_tiny_grid_after_a_failed_fit(tmp_path, reproduced):
    """A translator whose discriminator is deeper than its crop fails in fit@unit-0: the identity row
    still completes and is recorded; with the params fixed, the re-run runs UNIT's stages alone, no job
    runs an upstream stage again, and every cell's scores equal a plain `dvc repro`'s (the session's tiny
    grid, whose seed-0 cells these are; both one thread a process: oneDNN's kernels depend on the thread
    count). The dispatched grid is cut to seed 0: study.seeds is no cell's dependency."""
    plain = reproduced[0]
    assert dispatch.THREAD_VARS[0] in env() and env()[dispatch.THREAD_VARS[0]] == "1"  # conftest.py's setting
    root = tiny_repo(tmp_path / "dispatched")

    def seed0(params):
        params["study"]["seeds"] = [0]

    def deep(params):
        seed0(params)
        params["unit"]["fit"]["dis"]["n_layer"] = 8

    edit_params(root, deep)  # not committed: params.yaml is copied into every clone
    first = dispatch_cli(root, "--workers", "2", "--threads-per-job", "1")
    assert first.returncode == 1, first.stdout[-3000:] + first.stderr[-3000:]
    jobs = last_run(root)["jobs"]
    assert [s for s, j in jobs.items() if j["status"] == "failed"] == ["fit@unit-0"]
    unit = {s for s in jobs if "unit" in s and s != "fit@unit-0"}
    assert unit == {f"normalize@unit-0-{d}" for d in ("cityscapes", "gta5")} | \
        {f"{s}@mixed-unit-0" for s in ("train_seg", "evaluate")}
    assert all(jobs[s]["status"] == "skipped" for s in unit)
    assert {"train_seg@mixed-identity-0", "evaluate@mixed-identity-0"} <= {s for s, j in jobs.items() if j["status"] == "done"}, jobs
    assert set(dispatch.plan(root).jobs) == unit | {"fit@unit-0"}  # the identity row is recorded

    (root / "params.yaml").write_text((plain / "params.yaml").read_text())
    edit_params(root, seed0)
    second = dispatch_cli(root, "--workers", "2", "--threads-per-job", "1")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    jobs = last_run(root)["jobs"]
    assert set(jobs) == unit | {"fit@unit-0"}
    assert all(j["ran"] == [s] for s, j in jobs.items()), {s: j["ran"] for s, j in jobs.items()}
    for name in ("identity", "unit"):
        for path in (paths.eval_metrics_path("mixed", name, 0), paths.SUMMARY_DIR / "mixed" / "cells" / f"{name}-seed0.json"):
            assert (root / path).read_bytes() == (plain / path).read_bytes(), path
    assert "up to date" in dvc("status", cwd=root)


@pytest.mark.parametrize("nproc, gpus, refused", [(2, 1, True), (4, 2, True), (2, 2, False), (1, 1, False), (2, 0, False)])
def test_trainers_processes_must_fit_a_jobs_gpus(tmp_path, monkeypatch, capsys, nproc, gpus, refused):
    """base.nproc > 1 runs each trainer as that many processes, one GPU each: a job given fewer GPUs is refused
    by name before anything is planned (without GPUs, --gpus-per-job 0, the processes share the CPUs)."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"base": {"nproc": nproc}}))
    monkeypatch.chdir(tmp_path)

    def workspace_reached(root):
        raise dispatch.DispatchError("the workspace check came next")
    monkeypatch.setattr(dispatch, "check_workspace", workspace_reached)
    assert dispatch.main(["--dry", "--gpus-per-job", str(gpus)]) == 1
    err = capsys.readouterr().err
    assert ("base.nproc" in err) == refused and ("came next" in err) != refused, err
