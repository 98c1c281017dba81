"""Shared fixtures: a tiny copy of the project in a temporary folder, and its params; the tiny project as a
git + DVC repository, and that repository reproduced once per test process."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# One intra-op thread a process, set before torch loads: `make test` runs one pytest worker per core
# (pytest-xdist), and the tiny cells gain nothing from a second thread. oneDNN's kernels depend on the
# thread count, so this also makes every process of a comparison (a plain `dvc repro` against a dispatched
# one at --threads-per-job 1) compute alike.
os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

import pytest  # noqa: E402
import yaml  # noqa: E402

from stylenorm.components import load_params  # noqa: E402
from stylenorm.profiles import apply_profile  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# What a pipeline run needs from the repository (DVC deps included).
PROJECT_FILES = ["dvc.yaml", "params.yaml", "stages", "stylenorm", "profiles", "configs"]

os.environ.setdefault("DVC_NO_ANALYTICS", "1")


def copy_project(dest: Path, profile: str | None = "tiny") -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    if profile:
        apply_profile(profile, dest / "params.yaml", dest / "profiles")
    return dest


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A tiny-profile copy of the project; the test runs inside it."""
    root = copy_project(tmp_path / "project")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def params(project):
    return load_params(project / "params.yaml")


def env() -> dict:
    """The environment of a pipeline subprocess: this interpreter's tools first, a git identity."""
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                DVC_NO_ANALYTICS="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
                GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")


def run(cmd: list[str], cwd: Path, **extra_env) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env={**env(), **extra_env}, capture_output=True, text=True)
    if proc.returncode != 0:
        # The tail, and every error line before it (a DDP rank's traceback can scroll out of the tail).
        errors = [line for line in (proc.stdout + proc.stderr)[:-4000].splitlines() if "Error" in line or "error:" in line]
        pytest.fail(f"{' '.join(cmd)} failed ({proc.returncode}):\nerror lines before the tail:\n" + "\n".join(errors[-40:])
                    + f"\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout + proc.stderr


def dvc(*args: str, cwd: Path, **extra_env) -> str:
    return run([sys.executable, "-m", "dvc", *args], cwd, **extra_env)


def edit_params(root: Path, edit) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    edit(params)
    (root / "params.yaml").write_text(yaml.safe_dump(params))


def tiny_repo(root: Path, edit=None) -> Path:
    """A tiny-profile copy of the project as a git + DVC repository at ``root``; ``edit``: a params edit
    committed with it."""
    copy_project(root)
    if edit:
        edit_params(root, edit)
    (root / ".dvc").mkdir()
    for name in ("config", ".gitignore"):
        (root / ".dvc" / name).write_text((REPO / ".dvc" / name).read_text())
    shutil.copytree(REPO / ".dvc" / "plots", root / ".dvc" / "plots")
    run(["git", "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "tiny project"], root)
    return root


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory):
    """(root, output of the first `dvc repro`, audit dir): the tiny grid, reproduced once per test process
    (each pytest-xdist worker builds its own). Tests read it; a test that changes it works on a copy."""
    root = tiny_repo(tmp_path_factory.mktemp("e2e") / "repo")
    audit = tmp_path_factory.mktemp("audit")
    out = dvc("repro", cwd=root, STYLENORM_AUDIT_DIR=str(audit))
    return root, out, audit
