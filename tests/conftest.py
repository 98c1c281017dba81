"""Shared fixtures: a tiny copy of the project in a temporary folder, and its params."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from stylenorm.components import load_params
from stylenorm.profiles import apply_profile

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
