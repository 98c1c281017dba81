"""End to end: `dvc repro` of the tiny profile in a temporary git repository."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from stylenorm import paths
from tests.conftest import REPO, copy_project


def run(cmd: list[str], cwd: Path) -> str:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               DVC_NO_ANALYTICS="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout + proc.stderr


def ran_stages(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("e2e") / "repo")
    (root / ".dvc").mkdir()
    (root / ".dvc" / "config").write_text((REPO / ".dvc" / "config").read_text())
    (root / ".dvc" / ".gitignore").write_text((REPO / ".dvc" / ".gitignore").read_text())
    run(["git", "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "tiny project"], root)
    return root


def test_repro_runs_every_stage_then_nothing(repo):
    out = run([sys.executable, "-m", "dvc", "repro"], repo)
    stages = ran_stages(out)
    for name in ("fetch", "unify_labels", "split"):
        assert {f"{name}@cityscapes", f"{name}@gta5"} <= stages, out
    assert {"train_translator", "translate"} <= stages, out
    for domain in ("cityscapes", "gta5"):
        assert (repo / paths.splits_dir(domain) / "test.csv").exists()
        assert (repo / paths.fetch_report_path(domain)).exists()
    sampled = sorted((repo / paths.sampled_dir("gta5") / paths.IMAGES).glob("*.png"))
    translated = sorted((repo / paths.translated_dir() / paths.IMAGES).glob("*.png"))
    assert [p.name for p in translated] == [p.name for p in sampled]  # train and test, nothing else
    assert (repo / paths.UNIT_MODEL).exists() and (repo / paths.UNIT_CKPT_DIR / "last.pt").exists()
    for variant in ("baseline", "unit_mapped"):
        metrics = json.loads((repo / paths.variant_metrics_path(variant)).read_text())
        assert set(metrics["mIoU"]) >= {"cityscapes", "gta5", "pooled", "average"}
        assert (repo / paths.seg_dir(variant) / "model.pth").exists() and (repo / paths.seg_dir(variant) / "config.py").exists()
        assert (repo / paths.seg_live_dir(variant) / "plots" / "metrics" / "test" / "loss_ce.tsv").exists()
    table = (repo / paths.TABLE_MD).read_text()
    assert "| Baseline |" in table and "| UNIT-Mapped |" in table
    assert (repo / paths.QUALITATIVE_PLOT).exists() and len(list((repo / paths.CONFUSION_PLOT_DIR).glob("*.png"))) == 4
    again = run([sys.executable, "-m", "dvc", "repro"], repo)
    assert ran_stages(again) == set(), again
    status = run([sys.executable, "-m", "dvc", "status"], repo)
    assert "up to date" in status, status


def test_changing_test_fraction_reruns_split_only(repo):
    run([sys.executable, "-m", "dvc", "repro"], repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["split"]["test_fraction"] = 0.25
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    out = run([sys.executable, "-m", "dvc", "repro"], repo)
    # split and everything after it, nothing before it
    after_split = {"split@cityscapes", "split@gta5", "train_translator", "translate", "train_seg@baseline",
                   "train_seg@unit_mapped", "evaluate@baseline", "evaluate@unit_mapped", "report"}
    assert ran_stages(out) == after_split, out


def test_changing_a_translator_param_reruns_translator_stages_only(repo):
    run([sys.executable, "-m", "dvc", "repro"], repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["translator"]["loss"]["recon_kl_w"] = 0.02
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    out = run([sys.executable, "-m", "dvc", "repro"], repo)
    # the translated images and what reads them; the baseline is never retrained
    assert ran_stages(out) == {"train_translator", "translate", "train_seg@unit_mapped", "evaluate@unit_mapped", "report"}, out
    assert "resuming" not in out  # a changed config never resumes a stale checkpoint


def test_dvc_yaml_paths_match_the_library():
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for domain in ("cityscapes", "gta5"):
        def resolve(x):
            return x.replace("${item.domain}", domain)
        assert resolve(dvc["fetch"]["outs"][0]) == paths.sampled_dir(domain).as_posix()
        assert resolve(list(dvc["fetch"]["metrics"][0])[0]) == paths.fetch_report_path(domain).as_posix()
        assert resolve(dvc["unify_labels"]["outs"][0]) == paths.unified_dir(domain).as_posix()
        metrics = [resolve(list(m)[0]) for m in dvc["unify_labels"]["metrics"]]
        assert metrics == [paths.unify_report_path(domain).as_posix(), paths.class_freq_json_path(domain).as_posix()]
        assert resolve(list(dvc["unify_labels"]["plots"][0])[0]) == paths.class_freq_plot_path(domain).as_posix()
        assert resolve(dvc["split"]["outs"][0]) == paths.splits_dir(domain).as_posix()


def test_killed_translator_resumes_on_next_repro(repo):
    """Kill `dvc repro` mid-training once a checkpoint exists; the next `dvc repro` resumes from it."""
    run([sys.executable, "-m", "dvc", "repro"], repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["translator"].update(iterations=300, checkpoint_every=5, log_every=5, image_every=1000)
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    ckpt = repo / paths.UNIT_CKPT_DIR / "last.pt"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", DVC_NO_ANALYTICS="1")
    proc = subprocess.Popen([sys.executable, "-m", "dvc", "repro", "train_translator"], cwd=repo, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    def checkpoint_step() -> int:
        try:  # the stage first clears the stale checkpoint of the earlier run, then writes new ones
            return torch.load(ckpt, weights_only=False)["step"]
        except (FileNotFoundError, EOFError, RuntimeError):
            return 0

    try:
        deadline = time.time() + 180
        while time.time() < deadline and checkpoint_step() < 10:
            assert proc.poll() is None, "training ended before it could be killed"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # dvc and the stage under it, like a lost machine
        proc.wait()
    step = checkpoint_step()
    assert 10 <= step < 300 and not (repo / paths.UNIT_MODEL).exists()
    out = run([sys.executable, "-m", "dvc", "repro", "train_translator"], repo)
    assert f"resuming from {paths.UNIT_CKPT_DIR / 'last.pt'} at step {step}/300" in out, out
    assert (repo / paths.UNIT_MODEL).exists()


def test_paper_profile_dry_run(repo):
    """The paper profile's pipeline resolves: `dvc repro --dry` lists every stage it would run."""
    from stylenorm.profiles import apply_profile
    run([sys.executable, "-m", "dvc", "repro"], repo)  # --dry needs the upstream outputs to exist
    apply_profile("paper", repo / "params.yaml", repo / "profiles")
    out = run([sys.executable, "-m", "dvc", "repro", "--dry"], repo)
    # --dry cannot know that new upstream outputs would change later stages, so it lists the stages
    # whose own params the profile changes (every one that trains or reads the data sources).
    for stage in ("fetch@cityscapes", "fetch@gta5", "train_translator", "translate", "train_seg@baseline", "train_seg@unit_mapped"):
        assert f"Running stage '{stage}'" in out, out
    assert "> python -m stages.train_seg baseline" in out
    assert "deeplabv3plus_r101-d8" in (repo / "params.yaml").read_text()
    assert json.loads((repo / paths.fetch_report_path("gta5")).read_text())["source"] == "synthetic"  # nothing ran
