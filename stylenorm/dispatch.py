"""Run the stale stages of the pipeline as independent jobs on a Dask cluster, then record them here.

DVC runs one stage at a time, and concurrent `dvc repro` in one workspace fails on its lock. This
command reads the workspace's pipeline through DVC's API (the stage graph, `dvc status`), and
submits every stale stage as one Dask task that depends on the tasks of its stale upstream stages:
Dask's scheduler starts a stage as soon as its inputs are done, one stage per worker, each worker
one job slot (a GPU, or a CPU budget). A job clones the workspace's commit into the scratch folder,
copies the workspace's params.yaml and dvc.lock over it, points it at the workspace's DVC cache and
runs `dvc repro <stage>` there: upstream stages come from DVC's run cache, which earlier jobs filled,
so nothing runs twice. When every job is over, the succeeded stages are restored here from the run
cache (a stage that would have to run is refused) and the stages DVC cannot restore (the report:
its table is `cache: false`) run here with `dvc repro`. A failed job skips its downstream jobs only;
running the command again runs only what is still stale.

Reads: dvc.yaml, dvc.lock, params.yaml and the DVC cache of the repository in the current folder.
Writes: <scratch>/logs/<stage>.log (one per job), <scratch>/clones/<stage>/ (a failed job's clone,
kept for inspection), <scratch>/last_run.json (each job's status and seconds), then the workspace's
outputs and dvc.lock as `dvc repro` would. Default scratch: .dvc/tmp/dispatch (git- and DVC-ignored).

    python -m stylenorm.dispatch --dry                               # levels and jobs, nothing run
    python -m stylenorm.dispatch --workers 2 --threads-per-job 1     # this machine, CPU jobs
    python -m stylenorm.dispatch --workers 8 --gpus-per-job 1        # one 8-GPU machine
    python -m stylenorm.dispatch --cluster slurm --workers 16 --gpus-per-job 1 --threads-per-job 8 \\
        --queue gpu --memory 64GB --walltime 24:00:00                # Slurm (dask-jobqueue), one job per GPU

docs/dispatch.md: the engine and why, what a job does, timings.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

TOPIC = "stylenorm-dispatch"     # Dask event topic: a job's start, seen by the client as it happens
SLOT = "JOB"                     # Dask worker resource: one per worker, one per task: one job per worker
COPIED = ("params.yaml", "dvc.lock")  # workspace files a job's clone takes over its commit
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")  # torch's intra-op threads
CLUSTERS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster"}  # dask_jobqueue classes


class DispatchError(Exception):
    """The workspace cannot be dispatched as it is (message says why and what to do)."""


class JobFailed(Exception):
    """`dvc repro <stage>` failed in its clone. Dask hands this exception to every downstream task too,
    so ``stage`` tells the failed job from the ones it skipped."""

    def __init__(self, stage: str, log: str, clone: str):
        super().__init__(stage, log, clone)
        self.stage, self.log, self.clone = stage, log, clone

    def __str__(self) -> str:
        return f"{self.stage} failed: log {self.log}, clone kept at {self.clone}"


# ---- the plan: DVC's graph and status ----------------------------------------------------------------

@dataclass
class Plan:
    """What is stale, as jobs (their upstream jobs, levels) and as stages run here after the jobs."""
    levels: list[list[str]]            # topological generations of the jobs
    upstream: dict[str, list[str]]     # job -> the jobs it needs
    final: list[str]                   # stale stages the run cache cannot restore, run in the workspace
    copies: dict[str, list[str]]       # job -> cache: false outputs of its up-to-date upstream stages

    @property
    def jobs(self) -> list[str]:
        return [stage for level in self.levels for stage in level]


def restorable(stage) -> bool:
    """Whether DVC saves this stage to, and restores it from, its run cache: the conditions of DVC 3's
    ``dvc.stage.cache._can_hash`` and of ``Stage.run`` (which skips the run cache for a stage with a
    ``cache: false`` output that is neither a metric nor a plot)."""
    if not (stage.cmd and stage.deps and stage.outs) or stage.always_changed or stage.is_callback:
        return False
    for out in stage.outs:
        if out.protocol != "local" or out.persist or not out.is_in_repo:
            return False
        if not out.use_cache and not (out.is_metric or out.is_plot):
            return False
    return True


def plan(root: Path) -> Plan:
    """The stale stages of the repository at ``root``: those `dvc status` reports and everything
    downstream of them (a changed input may change every later stage's inputs)."""
    import networkx as nx

    with _repo(root) as repo:
        graph = repo.index.graph.reverse(copy=True)  # DVC's edges point from a stage to its upstream
        by_name = {stage.addressing: stage for stage in graph}
        changed = set(repo.status())
        stale = set(changed)
        for name in changed:
            stale |= {s.addressing for s in nx.descendants(graph, by_name[name])}
        pipeline = nx.relabel_nodes(graph, {s: s.addressing for s in graph})
        for name in sorted(stale):
            if not by_name[name].cmd:
                raise DispatchError(f"{name} changed and has no command (a data source): `dvc add` or `dvc commit` it first")
        jobs = {name for name in stale if restorable(by_name[name])}
        final = sorted(stale - jobs)
        for name in final:
            after = sorted(nx.descendants(pipeline, name) & stale)
            if after:
                raise DispatchError(f"{name} cannot be restored from DVC's run cache (a persist output, or a cache: false "
                                    f"output that is neither a metric nor a plot), yet stale stages follow it: {', '.join(after)}")
        sub = pipeline.subgraph(jobs)
        levels = [sorted(level) for level in nx.topological_generations(sub)]
        upstream = {name: sorted(sub.predecessors(name)) for name in jobs}
        copies = {name: sorted({_rel(out, repo.root_dir) for up in nx.ancestors(pipeline, name) - stale
                                for out in by_name[up].outs if not out.use_cache})
                  for name in jobs}
    return Plan(levels=levels, upstream=upstream, final=final, copies=copies)


@contextlib.contextmanager
def _repo(root: Path):
    """DVC's Repo at ``root``, opened from there: stage names (``addressing``) are relative to the
    current folder."""
    from dvc.repo import Repo

    cwd = os.getcwd()
    os.chdir(root)
    try:
        with Repo(".") as repo:
            yield repo
    finally:
        os.chdir(cwd)


def _rel(out, root: str) -> str:
    return os.path.relpath(out.fs_path, root)


def gitignores(root: Path) -> dict[str, bytes]:
    """Every .gitignore that DVC keeps beside a cached output, with an entry for every output, written
    now in the workspace: {path: bytes}, for the jobs to write into their clones. DVC appends an
    output's entry when it first writes the output, so the order of the lines is the order the stages
    ran; where such a file lies inside a directory dependency (data/normalized/<source>-<target>/<normalizer>), it is
    part of that dependency's hash, and a clone that restored upstream stages in another order than
    the workspace would record a run-cache key that the workspace never matches."""
    paths = set()
    with _repo(root) as repo:
        for stage in repo.index.stages:
            for out in stage.outs:
                if out.protocol == "local" and out.use_scm_ignore:
                    Path(out.fs_path).parent.mkdir(parents=True, exist_ok=True)
                    out.ignore()  # what `dvc repro` does when it writes the output: no-op when present
                    paths.add(os.path.join(os.path.dirname(_rel(out, repo.root_dir)), ".gitignore"))
    return {path: (root / path).read_bytes() for path in sorted(paths) if (root / path).exists()}


def check_workspace(root: Path) -> str:
    """The commit a job clones (HEAD). Refuses, naming the files, when a file a stage reads (a
    dependency), dvc.yaml or a .dvc file differs from HEAD or is untracked: a clone would not see it.
    params.yaml and dvc.lock are copied into every clone, and stage outputs come from the cache."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout

    commit = git("rev-parse", "HEAD").strip()
    entries = [e for e in git("status", "--porcelain=v1", "-z", "--untracked-files=all").split("\0") if e]
    dirty, skip = [], False
    for entry in entries:
        if skip:  # the source path of a rename
            skip = False
            continue
        dirty.append(entry[3:])
        skip = entry[0] in "RC"
    with _repo(root) as repo:
        stages = list(repo.index.stages)
        outs = {_rel(o, repo.root_dir) for s in stages for o in s.outs}
        deps = {_rel(d, repo.root_dir) for s in stages for d in s.deps if d.protocol == "local" and d.is_in_repo}
        files = {os.path.relpath(s.path, repo.root_dir) for s in stages}  # dvc.yaml and .dvc files

    def under(path: str, tops: set[str]) -> bool:
        return any(path == top or path.startswith(top.rstrip("/") + "/") for top in tops)

    bad = sorted(p for p in dirty if p not in COPIED and os.path.basename(p) != ".gitignore" and not under(p, outs)
                 and (p in files or under(p, deps)))
    if bad:
        raise DispatchError("these files differ from HEAD (or are untracked), and a job's clone of HEAD would not see them: "
                            + ", ".join(bad) + ". Commit them (params.yaml, dvc.lock and DVC's .gitignore files need not be: "
                            "they are copied)")
    return commit


# ---- a job, on a Dask worker -------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """Everything a worker needs to run one stage; paths are absolute and must be reachable from it."""
    stage: str
    root: str                 # the workspace: its git objects (cloned --shared) and outputs to copy
    commit: str
    cache_dir: str            # the workspace's DVC cache, shared by every job
    scratch: str
    threads: int | None       # the CPU budget: torch's intra-op threads (None: torch's default)
    copies: tuple[str, ...] = ()
    files: dict = field(default_factory=dict)  # workspace files written over the commit (COPIED, gitignores) -> bytes

    @property
    def name(self) -> str:  # a file name: dvc.yaml in a subfolder gives 'sub/dvc.yaml:stage'
        return self.stage.replace("/", "_").replace(":", "_")

    @property
    def log(self) -> Path:
        return Path(self.scratch) / "logs" / f"{self.name}.log"

    @property
    def clone(self) -> Path:
        return Path(self.scratch) / "clones" / self.name


def run_job(job: Job, upstream: list[dict]) -> dict:
    """Clone, configure and `dvc repro` one stage (``upstream``: the results of the jobs it needs, only
    there so that Dask runs it after them). Returns what ran, with its seconds; raises JobFailed."""
    from distributed import get_worker

    start = time.time()
    get_worker().log_event(TOPIC, {"stage": job.stage, "log": str(job.log)})
    clone = job.clone
    if clone.exists():
        shutil.rmtree(clone)  # a failed run's clone
    job.log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DVC_NO_ANALYTICS="1", PYTHONUNBUFFERED="1")
    if job.threads:
        env.update({var: str(job.threads) for var in THREAD_VARS})
    with job.log.open("w") as log:
        def step(*cmd: str, cwd: Path) -> None:
            log.write(f"$ {' '.join(cmd)}\n")
            log.flush()
            if subprocess.run(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT).returncode:
                raise JobFailed(job.stage, str(job.log), str(clone))

        log.write(f"# {job.stage} on {socket.gethostname()}, CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}, "
                  f"threads={job.threads}\n")
        step("git", "clone", "--quiet", "--shared", "--no-checkout", job.root, str(clone), cwd=Path(job.scratch))
        step("git", "checkout", "--quiet", "--detach", job.commit, cwd=clone)
        for name, data in job.files.items():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            (clone / name).write_bytes(data)
        for rel in job.copies:  # up-to-date upstream outputs that are not in the cache (metrics, plots)
            src, dst = Path(job.root) / rel, clone / rel
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            elif src.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        _configure_clone(clone, job.cache_dir)
        step(sys.executable, "-m", "dvc", "repro", job.stage, cwd=clone)
    text = job.log.read_text()
    shutil.rmtree(clone)
    return {"stage": job.stage, "seconds": round(time.time() - start, 1), "host": socket.gethostname(), "log": str(job.log),
            "ran": _stages_in(text, "Running stage '"), "restored": _stages_in(text, "Stage '", "' is cached")}


def _configure_clone(clone: Path, cache_dir: str) -> None:
    """The clone's local DVC config (as `dvc config --local`): the shared cache, a copy fallback where
    links cannot reach it, and DVC's per-repository site cache inside the clone (removed with it)."""
    from dvc.config import Config

    config = Config(dvc_dir=str(clone / ".dvc"), validate=False)
    with config.edit("local") as local:
        local.setdefault("cache", {}).update({"dir": cache_dir, "type": "reflink,hardlink,copy"})
        local.setdefault("core", {})["site_cache_dir"] = str(clone / ".dvc" / "tmp" / "site")


def _stages_in(text: str, prefix: str, suffix: str = "'") -> list[str]:
    """Stage names from DVC's log lines ``<prefix><stage><suffix>...``."""
    return [line[len(prefix):line.index(suffix, len(prefix))] for line in text.splitlines()
            if line.startswith(prefix) and suffix in line[len(prefix):]]


# ---- the cluster -------------------------------------------------------------------------------------

def local_cluster(workers: int, gpus_per_job: int):
    """One Dask worker per job slot on this machine (a SpecCluster: LocalCluster cannot give workers
    different environments); worker i sees GPUs i*g .. i*g+g-1, or none for CPU jobs."""
    from distributed import Nanny, Scheduler, SpecCluster

    def gpus(i: int) -> str:
        return ",".join(str(g) for g in range(i * gpus_per_job, (i + 1) * gpus_per_job))

    spec = {i: {"cls": Nanny, "options": {"nthreads": 1, "resources": {SLOT: 1}, "memory_limit": 0,
                                            "env": {"CUDA_VISIBLE_DEVICES": gpus(i)}}}
            for i in range(workers)}
    return SpecCluster(workers=spec, scheduler={"cls": Scheduler, "options": {"dashboard": False}},
                       name="stylenorm-dispatch")


def jobqueue_cluster(kind: str, *, threads: int, gpus_per_job: int, queue: str | None, memory: str | None,
                     walltime: str | None, job_extra: list[str], log_dir: Path):
    """A dask-jobqueue cluster: each batch job is one Dask worker with one job slot, ``threads`` cores
    and, on Slurm, ``--gres=gpu:<gpus_per_job>`` (PBS and SGE name GPUs per site: pass ``job_extra``).
    None leaves a value to dask-jobqueue's configuration (``jobqueue.<kind>.*``: site defaults such as
    the network interface or the account)."""
    try:
        import dask_jobqueue
    except ImportError:
        raise DispatchError(f"--cluster {kind} needs dask-jobqueue (pip install dask-jobqueue)") from None
    extra = list(job_extra) + ([f"--gres=gpu:{gpus_per_job}"] if kind == "slurm" and gpus_per_job else [])
    return getattr(dask_jobqueue, CLUSTERS[kind])(
        cores=threads, processes=1, memory=memory, walltime=walltime, queue=queue, python=sys.executable,
        job_extra_directives=extra, worker_extra_args=["--resources", f"{SLOT}=1"], log_directory=str(log_dir),
        scheduler_options={"dashboard": False})


# ---- dispatching -------------------------------------------------------------------------------------

class Progress:
    """Counts on the terminal, one line per event."""

    def __init__(self, total: int):
        self.total, self.running, self.done, self.failed, self.skipped = total, set(), [], [], []

    def say(self, what: str) -> None:
        print(f"[{len(self.done)}/{self.total} done, {len(self.running)} running, {len(self.failed)} failed, "
              f"{len(self.skipped)} skipped] {what}", flush=True)

    def started(self, event) -> None:  # a Dask topic handler: (timestamp, msg)
        msg = event[1]
        self.running.add(msg["stage"])
        self.say(f"start {msg['stage']} (log {msg['log']})")


def run_jobs(client, plan: Plan, make_job) -> dict[str, dict]:
    """Submit every job with its upstream jobs' futures as arguments (Dask runs it after them), and
    follow them to the end: {stage: {"status": done | failed | skipped, ...}}."""
    from distributed import as_completed

    progress = Progress(len(plan.jobs))
    client.subscribe_topic(TOPIC, progress.started)
    futures = {}
    for stage in plan.jobs:  # levels in order: every upstream future exists already
        futures[stage] = client.submit(run_job, make_job(stage), [futures[u] for u in plan.upstream[stage]],
                                       key=f"dispatch-{stage}", pure=False, resources={SLOT: 1}, retries=0)
    stage_of = {future.key: stage for stage, future in futures.items()}
    results = {}
    for future in as_completed(list(futures.values())):
        stage = stage_of[future.key]
        progress.running.discard(stage)
        if future.status == "finished":
            results[stage] = {"status": "done", **future.result()}
            progress.done.append(stage)
            progress.say(f"done {stage} in {results[stage]['seconds']} s")
            continue
        exc = future.exception()
        if isinstance(exc, JobFailed) and exc.stage == stage:
            results[stage] = {"status": "failed", "log": exc.log, "clone": exc.clone}
            progress.failed.append(stage)
            progress.say(f"FAILED {stage}: log {exc.log}")
        elif isinstance(exc, JobFailed):
            results[stage] = {"status": "skipped", "because": exc.stage}
            progress.skipped.append(stage)
            progress.say(f"skipped {stage} ({exc.stage} failed)")
        else:  # the engine's own failure (a worker lost too often, a cancelled task): the job did not finish
            results[stage] = {"status": "failed", "error": repr(exc), "log": str(make_job(stage).log)}
            progress.failed.append(stage)
            progress.say(f"FAILED {stage}: {exc!r}")
    client.unsubscribe_topic(TOPIC)
    return results


@contextlib.contextmanager
def commands_refused(why: str):
    """Within: a DVC stage whose command would run raises instead (DVC's ``dvc.stage.run.cmd_run``, the
    one place `dvc repro` runs a command after its run-cache lookup failed)."""
    import dvc.stage.run as dvc_run

    def refuse(stage, *args, **kwargs):
        raise DispatchError(f"{stage.addressing} would run in the workspace: {why}")

    original, dvc_run.cmd_run = dvc_run.cmd_run, refuse
    try:
        yield
    finally:
        dvc_run.cmd_run = original


def restore(root: Path, stages: list[str]) -> None:
    """`dvc repro --single-item` of each stage in order, in the workspace, from the run cache only."""
    from dvc.exceptions import ReproductionError

    if not stages:
        return
    with _repo(root) as repo, commands_refused("its job succeeded, so its run-cache entry should exist; "
                                                   "did the workspace change during the dispatch?"):
        try:
            repo.reproduce(stages, single_item=True)  # in the order given: upstream first
        except ReproductionError as err:
            raise DispatchError(f"{err}: {err.__cause__}") from err


def dispatch(root: Path, args) -> int:
    """The whole command; returns its exit status."""
    check_gpus(root, args.gpus_per_job)
    commit = check_workspace(root)
    the_plan = plan(root)
    print_plan(the_plan)
    if args.dry or not (the_plan.jobs or the_plan.final):
        return 0
    from distributed import Client

    with _repo(root) as repo:
        cache_dir = str(Path(repo.cache.local_cache_dir).resolve())
    scratch = (args.scratch or root / ".dvc" / "tmp" / "dispatch").resolve()
    (scratch / "logs").mkdir(parents=True, exist_ok=True)
    files = {**gitignores(root), **{name: (root / name).read_bytes() for name in COPIED if (root / name).exists()}}
    threads = args.threads_per_job or (max(1, (os.cpu_count() or 1) // args.workers) if args.cluster == "local" else 1)

    def make_job(stage: str) -> Job:
        return Job(stage=stage, root=str(root), commit=commit, cache_dir=cache_dir, scratch=str(scratch), threads=threads,
                   copies=tuple(the_plan.copies[stage]), files=files)

    start = time.time()
    results = {}
    if the_plan.jobs:
        if args.cluster == "local":
            cluster = local_cluster(args.workers, args.gpus_per_job)
        else:
            cluster = jobqueue_cluster(args.cluster, threads=threads, gpus_per_job=args.gpus_per_job, queue=args.queue,
                                       memory=args.memory, walltime=args.walltime, job_extra=args.job_extra,
                                       log_dir=scratch / "workers")
            cluster.scale(jobs=args.workers)
        with cluster, Client(cluster) as client:
            print(f"{len(the_plan.jobs)} jobs on {args.workers} {args.cluster} workers, {args.gpus_per_job} GPU(s) and "
                  f"{threads} thread(s) each; logs in {scratch / 'logs'}", flush=True)
            results = run_jobs(client, the_plan, make_job)
    jobs_seconds = round(time.time() - start, 1)
    done = [s for s in the_plan.jobs if results[s]["status"] == "done"]
    failed = [s for s in the_plan.jobs if results[s]["status"] == "failed"]
    print(f"restoring {len(done)} stages in {root} from the run cache", flush=True)
    restore(root, done)
    final_ok = None
    if not failed and the_plan.final:
        print(f"running here: {', '.join(the_plan.final)}", flush=True)
        final_ok = subprocess.run([sys.executable, "-m", "dvc", "repro", *the_plan.final], cwd=root,
                                  env=dict(os.environ, DVC_NO_ANALYTICS="1")).returncode == 0
    summary = {"commit": commit, "workers": args.workers, "cluster": args.cluster, "gpus_per_job": args.gpus_per_job,
               "threads_per_job": threads, "jobs_seconds": jobs_seconds, "total_seconds": round(time.time() - start, 1),
               "levels": the_plan.levels, "upstream": the_plan.upstream, "final": the_plan.final, "final_ok": final_ok,
               "jobs": results}
    (scratch / "last_run.json").write_text(json.dumps(summary, indent=2) + "\n")
    if failed:
        skipped = [s for s in the_plan.jobs if results[s]["status"] == "skipped"]
        print(f"{len(failed)} failed: " + "; ".join(f"{s} (log {results[s]['log']})" for s in failed)
              + (f"; {len(skipped)} skipped after them" if skipped else "")
              + (f"; not run: {', '.join(the_plan.final)}" if the_plan.final else "")
              + f". {len(done)} succeeded and are recorded here; run the command again for the rest.", flush=True)
        return 1
    if final_ok is False:
        print(f"all {len(done)} jobs done and recorded here; `dvc repro {' '.join(the_plan.final)}` failed (its output is above)")
        return 1
    print(f"all {len(done)} jobs done in {jobs_seconds} s; everything recorded in {root} ({summary['total_seconds']} s)")
    return 0


def check_gpus(root: Path, gpus_per_job: int) -> None:
    """Refuse a job that cannot hold its trainers: ``base.nproc`` > 1 runs fit, train_seg and train_oracle
    as that many processes, one GPU each (stylenorm/launch.py), so a job with GPUs needs at least as many.
    Without GPUs (``--gpus-per-job 0``) the processes share the job's CPUs."""
    params = root / "params.yaml"
    if not gpus_per_job or not params.exists():
        return
    nproc = int((yaml.safe_load(params.read_text()) or {}).get("base", {}).get("nproc", 1))
    if nproc > gpus_per_job:
        raise DispatchError(f"base.nproc is {nproc} (one GPU per trainer process) but --gpus-per-job is {gpus_per_job}: "
                            f"give --gpus-per-job {nproc}, or set base.nproc to {gpus_per_job} or less")


def print_plan(the_plan: Plan) -> None:
    if not (the_plan.jobs or the_plan.final):
        print("nothing is stale: every stage is up to date")
        return
    for i, level in enumerate(the_plan.levels):
        print(f"level {i}: {', '.join(level)}")
    if the_plan.final:
        print(f"then here, in the workspace: {', '.join(the_plan.final)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry", action="store_true", help="print the levels and jobs, run nothing")
    ap.add_argument("--workers", type=int, default=1, help="job slots: Dask workers, one job each (default 1)")
    ap.add_argument("--gpus-per-job", type=int, default=0,
                    help="GPUs per job (local: worker i gets GPUs i*g .. i*g+g-1; 0 hides GPUs; default 0)")
    ap.add_argument("--threads-per-job", type=int,
                    help="CPU threads per job (default: local, CPUs / workers; a cluster, 1)")
    ap.add_argument("--scratch", type=Path, help="clones and logs (default .dvc/tmp/dispatch; on a cluster, a shared filesystem)")
    ap.add_argument("--cluster", choices=["local", *CLUSTERS], default="local",
                    help="local: this machine; slurm, pbs, sge: batch jobs through dask-jobqueue (default local)")
    ap.add_argument("--queue", help="cluster: the partition / queue")
    ap.add_argument("--memory", help="cluster: memory per job, e.g. 64GB (default: dask-jobqueue's configuration)")
    ap.add_argument("--walltime", help="cluster: walltime per worker job, e.g. 24:00:00 (default: dask-jobqueue's configuration)")
    ap.add_argument("--job-extra", action="append", default=[], help="cluster: an extra batch directive (repeatable)")
    args = ap.parse_args(argv)
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # before distributed is imported; workers inherit it
    if args.workers < 1 or args.gpus_per_job < 0 or (args.threads_per_job is not None and args.threads_per_job < 1):
        ap.error("--workers and --threads-per-job must be >= 1, --gpus-per-job >= 0")
    try:
        return dispatch(Path.cwd().resolve(), args)
    except DispatchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
