"""scripts/check_reproduction.py: what counts as "a fresh clone reproduces the committed results"."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import check_reproduction as check


TABLE = "| identity | 0.19 ± 0.01 |\n| unit | 0.21 ± 0.01 |\n"
LOCK = """schema: '2.0'
stages:
  fetch@gta5:
    outs:
    - path: data/sampled/gta5
      md5: aaa.dir
  report:
    outs:
    - path: metrics/table.md
      md5: bbb
"""


def _results(root: Path, table: str, miou: float, seconds: float, lock: str = LOCK) -> Path:
    (root / "metrics" / "eval").mkdir(parents=True)
    (root / "metrics" / "table.md").write_text(table)
    (root / "metrics" / "eval" / "unit-seed0.json").write_text(json.dumps({"mIoU": {"cityscapes": miou}, "ok": True}))
    (root / "metrics" / "normalize.json").write_text(json.dumps({"images": 3, "seconds": seconds}))
    (root / "dvc.lock").write_text(lock)
    return root


def test_identical_tables_reproduce_and_float_noise_is_measured(tmp_path):
    a = _results(tmp_path / "a", TABLE, 0.2064013, seconds=10.0)
    b = _results(tmp_path / "b", TABLE, 0.2064019, seconds=12.5, lock=LOCK.replace("bbb", "ccc"))
    report = check.compare(a, b)
    assert report["reproduced"]
    ev = report["metrics"]["metrics/eval/unit-seed0.json"]
    assert ev["max_abs_diff"] == pytest.approx(6e-7) and list(ev["moved"]) == ["mIoU.cityscapes"]
    timing = report["metrics"]["metrics/normalize.json"]
    assert timing["max_abs_diff"] == 0 and timing["timings_moved"] == ["seconds"]  # speed is not a result
    assert report["outputs_identical"] == ["fetch@gta5:data/sampled/gta5"]
    assert report["outputs_different"] == ["report:metrics/table.md"]


def test_a_moved_printed_number_fails(tmp_path):
    a = _results(tmp_path / "a", TABLE, 0.206, seconds=1)
    b = _results(tmp_path / "b", TABLE.replace("0.21 ± 0.01", "0.20 ± 0.01"), 0.204, seconds=1)
    report = check.compare(a, b)
    assert not report["reproduced"]
    assert report["metrics"]["metrics/eval/unit-seed0.json"]["max_abs_diff"] == pytest.approx(0.002)


def test_missing_rebuilt_results_fail_and_are_named(tmp_path):
    a = _results(tmp_path / "a", TABLE, 0.2, seconds=1)
    (tmp_path / "b").mkdir()
    report = check.compare(a, tmp_path / "b")
    assert not report["reproduced"] and report["table_rebuilt"] is None
    assert report["metrics"]["metrics/eval/unit-seed0.json"] == {"missing_file": True}
    with pytest.raises(FileNotFoundError, match="committed table"):
        check.compare(tmp_path / "b", a)


def test_a_key_no_longer_written_or_a_stale_lock_entry_fails(tmp_path):
    a = _results(tmp_path / "a", TABLE, 0.2, seconds=1)
    b = _results(tmp_path / "b", TABLE, 0.2, seconds=1)
    assert check.compare(a, b, stages={"fetch@gta5", "report"})["reproduced"]
    stale = check.compare(a, b, stages={"report"})  # fetch@gta5 left dvc.yaml, its lock entry did not
    assert not stale["reproduced"] and stale["stale_lock_entries"] == ["fetch@gta5"]
    (b / "metrics" / "eval" / "unit-seed0.json").write_text(json.dumps({"mIoU": {"gta5": 0.2}, "ok": True}))
    moved = check.compare(a, b)
    assert not moved["reproduced"] and moved["metrics_incomplete"] == ["metrics/eval/unit-seed0.json"]


# --------------------------------------------------------------------------- the script, on a toy DVC project
def _git_env() -> dict:
    return dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
                GIT_COMMITTER_EMAIL="t@example.com", DVC_NO_ANALYTICS="1")


def _toy_project(root: Path, stage_cmd: str) -> Path:
    """A git + DVC project whose one stage writes the table and a metrics file; results committed."""
    root.mkdir()
    (root / "params.yaml").write_text("value: 0.25\n")
    (root / "make_table.py").write_text(
        "import json, pathlib, yaml\n"
        "v = yaml.safe_load(open('params.yaml'))['value']\n"
        "pathlib.Path('metrics').mkdir(exist_ok=True)\n"
        "pathlib.Path('metrics/table.md').write_text(f'| unit | {v:.2f} |\\n')\n"
        "pathlib.Path('metrics/score.json').write_text(json.dumps({'mIoU': v}))\n")
    (root / "dvc.yaml").write_text(
        "stages:\n  report:\n    cmd: " + stage_cmd + "\n    deps: [make_table.py]\n    params: [value]\n"
        "    outs:\n      - metrics/table.md:\n          cache: false\n"
        "    metrics:\n      - metrics/score.json:\n          cache: false\n")
    for cmd in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(cmd, cwd=root, env=_git_env(), check=True)
    subprocess.run([sys.executable, "-m", "dvc", "repro", "-q"], cwd=root, env=_git_env(), check=False)
    if not (root / "metrics" / "table.md").exists():  # a stage that cannot run: commit a table by hand
        (root / "metrics").mkdir(exist_ok=True)
        (root / "metrics" / "table.md").write_text("| unit | 0.25 |\n")
        (root / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    for cmd in (["git", "add", "-A"], ["git", "commit", "-qm", "results"]):
        subprocess.run(cmd, cwd=root, env=_git_env(), check=True)
    return root


def _check(repo: Path, work: Path, monkeypatch) -> tuple[int, dict]:
    for k, v in _git_env().items():
        monkeypatch.setenv(k, v)
    code = check.main(["--repo", str(repo), "--workdir", str(work)])
    return code, json.loads((work / "reproduction.json").read_text())


TOY_CMD = f"{sys.executable} make_table.py"


def test_the_script_passes_a_clean_commit_and_rebuilds_every_output(tmp_path, monkeypatch):
    repo = _toy_project(tmp_path / "toy", TOY_CMD)
    code, report = _check(repo, tmp_path / "work", monkeypatch)
    assert code == 0 and report["reproduced"], report
    assert set(report["outputs_identical"]) == {"report:metrics/table.md", "report:metrics/score.json"} and report["environment"]["torch_threads"] >= 1


def test_the_script_catches_a_hand_edited_number(tmp_path, monkeypatch):
    repo = _toy_project(tmp_path / "toy", TOY_CMD)
    (repo / "metrics" / "table.md").write_text("| unit | 0.30 |\n")  # a number typed in, not rebuilt
    subprocess.run(["git", "commit", "-qam", "better numbers"], cwd=repo, env=_git_env(), check=True)
    code, report = _check(repo, tmp_path / "work", monkeypatch)
    assert code == 1 and not report["table_identical"] and report["table_rebuilt"] == "| unit | 0.25 |\n"


def test_the_script_reports_a_failing_repro_with_exit_2(tmp_path, monkeypatch):
    repo = _toy_project(tmp_path / "toy", f"{sys.executable} -c 'raise SystemExit(3)'")
    code, report = _check(repo, tmp_path / "work", monkeypatch)
    assert code == 2 and not report["reproduced"] and "dvc repro" in report["error"]


def test_the_script_fails_a_committed_metrics_file_that_no_stage_writes(tmp_path, monkeypatch):
    repo = _toy_project(tmp_path / "toy", TOY_CMD)
    (repo / "metrics" / "old_table.json").write_text(json.dumps({"mIoU": 0.5}))  # left from a removed stage
    subprocess.run(["git", "add", "-A"], cwd=repo, env=_git_env(), check=True)
    subprocess.run(["git", "commit", "-qm", "stale"], cwd=repo, env=_git_env(), check=True)
    code, report = _check(repo, tmp_path / "work", monkeypatch)
    assert code == 1 and report["metrics_incomplete"] == ["metrics/old_table.json"]
