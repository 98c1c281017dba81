"""End to end: `dvc repro` of a tiny 2 x 2 grid in a temporary git repository, and what dvc.yaml declares.

The session's fixture (conftest.py) reproduces the tiny project once per test process; every test that
changes it works on its own copy, so no test depends on another having run (or on their order).
"""
from __future__ import annotations

import ast
import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import pandas as pd
import yaml
from PIL import Image

from stylenorm import labels, paths
from stylenorm.metrics import confusion_matrix, summarize
from tests.conftest import REPO, dvc, edit_params, env, run, tiny_repo

GRID = [("identity", 0), ("identity", 1), ("unit", 0), ("unit", 1)]  # the tiny profile's cells
PAIR = ("gta5", "cityscapes")  # the default study.source, study.target (the tiny profile's too)


def ran_stages(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}


def _declared_reads_only(root: Path, audit: Path) -> tuple[set[str], dict[str, list[str]]]:
    """(stages the audit saw, stage -> files it read that it does not declare) of a `dvc repro` run
    with STYLENORM_AUDIT_DIR=``audit``."""
    from dvc.repo import Repo
    with Repo(str(root)) as r:
        by_cmd = {s.cmd[s.cmd.index("stages."):]: ([d.def_path for d in s.deps] + [o.def_path for o in s.outs] + ["params.yaml"],
                                             s.name) for s in r.index.stages}
    checked, undeclared = set(), {}
    for log in audit.glob("*.json"):
        entry = json.loads(log.read_text())
        argv = entry["argv"]
        key = " ".join([f"stages.{Path(argv[0]).stem}"] + argv[1:])  # argv[0]: .../stages/<name>.py
        if key not in by_cmd:
            continue
        declared, stage = by_cmd[key]
        checked.add(stage)
        # .git/ and .dvc/: DVCLive looks up the repository it logs in; tool metadata, not data a result depends on
        bad = [f for f in entry["reads"] if not _covered(f, declared) and not f.startswith((".git/", ".dvc/"))]
        if bad:
            undeclared[stage] = bad
    return checked, undeclared


@pytest.fixture
def repo(reproduced, tmp_path):
    """A private copy of the reproduced tiny repository."""
    dest = tmp_path / "repo"
    shutil.copytree(reproduced[0], dest, symlinks=True)
    return dest


def test_repro_runs_the_grid_then_nothing(reproduced, repo):
    stages = ran_stages(reproduced[1])
    for name in ("fetch", "unify_labels", "split"):
        assert {f"{name}@cityscapes", f"{name}@gta5"} <= stages
    expected = {f"fit@{n}-0" for n in ("identity", "unit")}
    expected |= {f"normalize@{n}-0-{d}" for n in ("identity", "unit") for d in ("gta5", "cityscapes")}
    expected |= {f"{s}@mixed-{n}-{k}" for s in ("train_seg", "evaluate") for n, k in GRID}
    assert expected | {"report"} <= stages, stages
    sampled = sorted((repo / paths.sampled_dir("gta5") / paths.IMAGES).glob("*.png"))
    for name in ("identity", "unit"):
        normalized = sorted((repo / paths.normalized_dir(name, ("gta5", "cityscapes"), 0, "gta5") / paths.IMAGES).glob("*.png"))
        assert [p.name for p in normalized] == [p.name for p in sampled]  # train, val and test, nothing else
    assert (repo / paths.fit_dir("unit", PAIR, 0) / "model.pt").exists()
    assert (repo / paths.fit_work_dir("unit", PAIR, 0) / "checkpoints" / "last.pt").exists()
    for name, seed in GRID:
        metrics = json.loads((repo / paths.eval_metrics_path("mixed", name, seed)).read_text())
        assert set(metrics["mIoU"]) >= {"cityscapes", "gta5_normalized", "pooled", "average"}
        assert set(metrics["val"]["mIoU"]) >= {"cityscapes", "gta5_normalized"}
        assert (repo / paths.seg_dir("mixed", name, seed) / "model.pth").exists()
        assert (repo / paths.seg_live_dir("mixed", name, seed) / "plots" / "metrics" / "val" / "loss_ce.tsv").exists()
        assert (repo / paths.eval_dir("mixed", name, seed) / "per_image_cityscapes.npz").exists()
    table = json.loads((repo / paths.TABLE_JSON).read_text())["mixed"]
    for key in ("mean", "ci_low", "ci_high", "delta_vs_identity", "p_value"):
        assert key in table["unit"]["GTA5"], key
    assert table["identity"]["Cityscapes"]["n"] == 2
    md = (repo / paths.TABLE_MD).read_text()
    assert "| identity (raw; the study's baseline) |" in md and "| UNIT |" in md and "±" in md
    assert (repo / paths.QUALITATIVE_DIR / "mixed.png").exists()
    assert len(list((repo / paths.CONFUSION_PLOT_DIR / "mixed").glob("*.png"))) == 4
    again = dvc("repro", cwd=repo)
    assert ran_stages(again) == set(), again
    assert "up to date" in dvc("status", cwd=repo)


def test_a_fresh_clone_reproduces_the_committed_tables(repo, tmp_path):
    """#8: results committed from a `dvc repro` are rebuilt, to the printed precision, by a fresh clone
    (no cache, no checkpoint); a hand-edited number is caught."""
    from scripts import check_reproduction as check
    shutil.copy2(REPO / ".gitignore", repo / ".gitignore")  # the trainers' resume points stay out of git
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "results"], repo)
    tracked = run(["git", "ls-files"], repo).splitlines()
    assert "metrics/table.md" in tracked and not [f for f in tracked if "_work/" in f]
    work = tmp_path / "check"
    work.mkdir()
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "check_reproduction.py"), "--repo", str(repo),
                           "--workdir", str(work)], env=env(), capture_output=True, text=True)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    report = json.loads((work / "reproduction.json").read_text())
    assert report["reproduced"] and not report["stale_lock_entries"] and not report["metrics_incomplete"]
    assert {f"{s}@mixed-{n}-{k}" for s in ("train_seg", "evaluate") for n, k in GRID} | {"report"} <= ran_stages(proc.stdout)
    assert {f"fetch@{d}:data/sampled/{d}" for d in ("cityscapes", "gta5")} <= set(report["outputs_identical"])
    table = work / "committed" / "metrics" / "table.md"
    row = next(line for line in table.read_text().splitlines() if line.startswith("| UNIT |"))
    first = row.split("|")[2].strip()  # "0.xx ± 0.xx"
    table.write_text(table.read_text().replace(row, row.replace(first, "0.99" + first[4:], 1)))
    assert not check.compare(work / "committed", work / "clone")["reproduced"]


def restored_stages(output: str) -> set[str]:
    """Stages `dvc repro` took from the run cache instead of running them."""
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Stage '") and "is cached - skipping run" in line}


def test_a_grid_computed_in_one_clone_is_restored_in_another(repo, tmp_path):
    """#23: every stage is run-cacheable, so a clone that pulls the run cache another clone pushed to a
    shared remote (`python -m stylenorm.runcache push`: the entries and every object they name) reproduces
    the grid without training anything (`dvc repro --pull`)."""
    remote = tmp_path / "remote"
    dvc("remote", "add", "--local", "-d", "shared", str(remote), cwd=repo)
    run([sys.executable, "-m", "stylenorm.runcache", "push"], repo, PYTHONPATH=str(REPO))
    other = tmp_path / "other"
    run(["git", "clone", "-q", str(repo), str(other)], tmp_path)
    assert not (other / "dvc.lock").exists() and not (other / paths.fit_dir("unit", PAIR, 0)).exists()  # code and params only
    dvc("remote", "add", "--local", "-d", "shared", str(remote), cwd=other)
    out = dvc("repro", "--pull", cwd=other)
    assert ran_stages(out) <= {"report"}, out  # seconds of tables; every data, fit and cell stage restored
    assert {f"fetch@{d}" for d in ("cityscapes", "gta5")} | {"fit@unit-0", "normalize@unit-0-gta5"} <= restored_stages(out), out
    assert {f"{s}@mixed-{n}-{k}" for s in ("train_seg", "evaluate") for n, k in GRID} <= restored_stages(out), out
    assert (other / paths.TABLE_MD).read_bytes() == (repo / paths.TABLE_MD).read_bytes()
    assert (other / paths.seg_dir("mixed", "unit", 1) / "model.pth").read_bytes() == \
        (repo / paths.seg_dir("mixed", "unit", 1) / "model.pth").read_bytes()


def test_switching_a_protocols_direction_and_back_restores_its_cells(repo):
    """#23: a cell trained once is restored from the run cache when its parameters come back."""
    def direction(source: str, target: str):
        def edit(p):
            p["study"].update(protocols=["source_only"], normalizers=["identity"], seeds=[0])
            p["source_only"].update(source=source, target=target)
        return edit

    cell = "train_seg@source_only-identity-0"
    edit_params(repo, direction("cityscapes", "gta5"))
    first = dvc("repro", cwd=repo)
    table = (repo / paths.TABLE_MD).read_bytes()
    edit_params(repo, direction("gta5", "cityscapes"))
    assert cell in ran_stages(dvc("repro", cwd=repo))
    edit_params(repo, direction("cityscapes", "gta5"))
    back = dvc("repro", cwd=repo)
    assert cell in ran_stages(first) and ran_stages(back) <= {"report"}, back
    assert {cell, "evaluate@source_only-identity-0"} <= restored_stages(back), back
    assert (repo / paths.TABLE_MD).read_bytes() == table


def test_base_nproc_runs_the_trainers_under_torchrun(repo):
    """#23: `base.nproc: 2` runs fit and train_seg as DDP through `dvc repro` (two CPU processes on
    gloo), and dvc.lock records the command."""
    edit_params(repo, lambda p: p["base"].update(nproc=2))
    out = dvc("repro", "train_seg@mixed-unit-0", cwd=repo)
    assert {"fit@unit-0", "train_seg@mixed-unit-0"} <= ran_stages(out), out
    ckpt = torch.load(repo / paths.fit_work_dir("unit", PAIR, 0) / "checkpoints" / "last.pt", weights_only=False)
    assert ckpt["world_size"] == 2
    log = "".join(f.read_text() for f in (repo / paths.seg_work_dir("mixed", "unit", 0, PAIR)).glob("*/*.log"))  # MMEngine's
    assert "Distributed training: True" in log and "GPU number: 2" in log, log[:3000]
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    assert lock["train_seg@mixed-unit-0"]["cmd"].startswith("python -m stylenorm.launch 2 stages.train_seg")
    assert (repo / paths.seg_dir("mixed", "unit", 0) / "model.pth").exists()


EXP_SHOW_DROP = ".*mIoU.*|Created|(data|models)/.*"  # README: the rows' deltas and the changed params


def test_dvc_metrics_views_fit_a_160_column_terminal(repo):
    """#20: the declared metrics are what a user compares (each row's mean mIoU per column and its paired
    difference from identity, each cell's mIoU), so `dvc metrics show` and `dvc metrics diff` fit 160
    columns; counters, timings, per-class IoU and training logs are outputs opened on purpose."""
    shown = dvc("metrics", "show", cwd=repo)
    listed = [line.split()[0] for line in shown.splitlines()[1:] if line.strip()]
    assert set(listed) == {f"metrics/summary/mixed/{d}{n}.json" for n in ("identity", "unit") for d in ("", "val/")} | \
        {f"metrics/summary/mixed/cells/{n}-seed{k}.json" for n, k in GRID}, shown
    assert shown.splitlines()[0].split()[1:] == ["delta.Average", "delta.Cityscapes", "delta.GTA5", "mIoU.Average",
                                                 "mIoU.Cityscapes", "mIoU.GTA5"], shown
    cell = json.loads((repo / paths.SUMMARY_DIR / "mixed" / "cells" / "unit-seed1.json").read_text())
    assert cell["mIoU"]["GTA5"] == json.loads((repo / paths.eval_metrics_path("mixed", "unit", 1)).read_text())["mIoU"]["gta5_normalized"]
    val = json.loads((repo / paths.SUMMARY_DIR / "mixed" / "val" / "unit.json").read_text())  # tuning: validation only
    assert val["mIoU"]["GTA5"] == pytest.approx(sum(
        json.loads((repo / paths.eval_metrics_path("mixed", "unit", k)).read_text())["val"]["mIoU"]["gta5_normalized"]
        for n, k in GRID if n == "unit") / sum(n == "unit" for n, _ in GRID))
    row = json.loads((repo / paths.SUMMARY_DIR / "mixed" / "unit.json").read_text())
    table = json.loads((repo / paths.TABLE_JSON).read_text())["mixed"]["unit"]
    assert row == {"mIoU": {c: table[c]["mean"] for c in ("Cityscapes", "GTA5", "Average")},
                   "delta": {c: table[c]["delta_vs_identity"] for c in ("Cityscapes", "GTA5", "Average")}}
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "results"], repo)
    dvc("exp", "run", "-S", "study.seeds=[0]", cwd=repo)  # the cells are there: only the report runs
    diff = dvc("metrics", "diff", cwd=repo)
    assert "metrics/summary/mixed/unit.json" in diff, diff
    exps = dvc("exp", "show", "--only-changed", "--drop", EXP_SHOW_DROP, "--no-pager", cwd=repo, COLUMNS="160")
    header = next(line for line in exps.splitlines() if "Experiment" in line).split()
    assert {"delta.Cityscapes", "delta.GTA5", "delta.Average", "study.seeds"} <= set(header), exps  # none wrapped
    assert "…" not in exps, exps  # no column hidden
    for view in (shown, diff, exps):
        assert max(len(line.rstrip()) for line in view.splitlines()) <= 160, view


def test_compare_experiments_tables_two_settings_of_one_normalizer(repo, tmp_path):
    """scripts/compare_experiments.py: UNIT's two alignments, two experiments (DVC cannot make them two rows
    of one grid), in one table paired by seed, each row read from its own experiment; a wrong name is named,
    and rows whose experiments disagree on the seeds are refused."""
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "results"], repo)
    def cells():
        return {s: json.loads((repo / paths.eval_metrics_path("mixed", "unit", s)).read_text())["mIoU"]["gta5_normalized"]
                for s in (0, 1)}
    stretch = cells()
    dvc("exp", "run", "-n", "pad", "-S", "unit.apply.align=pad", cwd=repo)  # tiny GTA5: 58 px wide at new_size 32, floored to 56
    pad = cells()
    assert pad != stretch  # the experiment changed the cells it compares
    run(["git", "checkout", "-q", "--", "."], repo)  # params and dvc.lock back at HEAD; the outputs stay pad's: rows read revisions
    script = [sys.executable, str(REPO / "scripts" / "compare_experiments.py"), "--repo", str(repo), "--protocol", "mixed"]
    rows = ["--row", "identity=HEAD:identity", "--row", "UNIT stretch=HEAD:unit", "--row", "UNIT pad=pad:unit"]
    run([*script, *rows, "--json", str(tmp_path / "t.json"), "--markdown", str(tmp_path / "t.md")], repo)
    table = json.loads((tmp_path / "t.json").read_text())["table"]
    assert list(table) == ["identity", "UNIT stretch", "UNIT pad"]
    assert table["UNIT stretch"]["GTA5"]["mean"] == pytest.approx(np.mean(list(stretch.values())))
    assert table["UNIT pad"]["GTA5"]["mean"] == pytest.approx(np.mean(list(pad.values())))
    assert table["UNIT pad"]["GTA5"]["delta_vs_UNIT stretch"] == pytest.approx(np.mean([pad[s] - stretch[s] for s in (0, 1)]))
    md = (tmp_path / "t.md").read_text()
    assert "| UNIT pad − UNIT stretch |" in md and "`unit.apply.align=pad`" in md, md
    for row, error in (("UNIT x=no-such-exp:unit", "'no-such-exp': neither a DVC experiment"),
                       ("UNIT one seed=one-seed:unit", "the rows differ in study.seeds")):
        if "one-seed" in row:
            dvc("checkout", cwd=repo)
            dvc("exp", "run", "-n", "one-seed", "-S", "study.seeds=[0]", cwd=repo)  # the report alone runs
        bad = subprocess.run([*script, *rows[:4], "--row", row], cwd=repo, env=env(), capture_output=True, text=True)
        assert bad.returncode != 0 and error in bad.stderr, bad.stderr


def test_trained_segmenters_beat_a_constant_predictor(repo, monkeypatch):
    """Every cell's model learned something: its mIoU beats predicting the commonest class everywhere."""
    monkeypatch.chdir(repo)
    for domain, test_set in (("cityscapes", "cityscapes"), ("gta5", "gta5_normalized")):
        conf = sum(confusion_matrix(np.zeros_like(gt), gt) for gt in (
            np.asarray(Image.open(paths.unified_dir(domain) / paths.LABELS / f"{i}.png")) for i in paths.split_ids(domain, "test")))
        constant = summarize(conf)["mIoU"]
        for name, seed in GRID:
            trained = json.loads(paths.eval_metrics_path("mixed", name, seed).read_text())["mIoU"][test_set]
            assert trained > constant, (name, seed, test_set, trained, constant)


def test_adding_a_seed_runs_only_that_seeds_cells(repo):
    edit_params(repo, lambda p: p["study"].update(seeds=[0, 1, 2]))
    out = dvc("repro", cwd=repo)
    assert ran_stages(out) == {"train_seg@mixed-identity-2", "train_seg@mixed-unit-2", "evaluate@mixed-identity-2",
                               "evaluate@mixed-unit-2", "report"}, out
    assert json.loads((repo / paths.TABLE_JSON).read_text())["mixed"]["unit"]["Cityscapes"]["n"] == 3


def test_adding_domains_runs_only_their_data_stages(repo):
    """#21: SYNTHIA and Foggy Cityscapes join by one `study.domains` edit: their fetch, unify_labels and
    split run (each reading only what it declares), every cell comes from before unchanged, and the
    report (which reads study.domains for its labels) writes the same tables."""
    table = (repo / paths.TABLE_MD).read_bytes()
    added = ("synthia", "foggy_cityscapes")
    edit_params(repo, lambda p: p["study"].update(domains=["cityscapes", "gta5", *added]))
    audit = repo.parent / "audit"
    out = dvc("repro", cwd=repo, STYLENORM_AUDIT_DIR=str(audit))
    assert ran_stages(out) == {f"{s}@{d}" for s in ("fetch", "unify_labels", "split") for d in added} | {"report"}, out
    assert (repo / paths.TABLE_MD).read_bytes() == table
    checked, undeclared = _declared_reads_only(repo, audit)
    assert {f"fetch@{d}" for d in added} <= checked and not undeclared, undeclared
    for d in added:
        assert len(pd.read_csv(repo / paths.splits_dir(d) / "test.csv")) > 0


def test_another_pair_is_one_experiment_and_the_default_grid_comes_back_from_the_cache(repo):
    """#21: SYNTHIA -> Cityscapes by `study.source` (one pair per experiment): its data stages, fits,
    normalizations and cells run, each reading only what it declares, and the tables name the pair;
    switching back to GTA5 -> Cityscapes trains and scores nothing (every such stage from DVC's run cache)
    and the report gives the default tables byte for byte."""
    table, summary = (repo / paths.TABLE_MD).read_bytes(), (repo / paths.TABLE_JSON).read_bytes()
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "default results"], repo)
    edit_params(repo, lambda p: p["study"].update(domains=["cityscapes", "gta5", "synthia"], source="synthia"))
    audit = repo.parent / "audit"
    out = dvc("repro", cwd=repo, STYLENORM_AUDIT_DIR=str(audit))
    names = ("identity", "unit")
    assert ran_stages(out) == ({f"{s}@synthia" for s in ("fetch", "unify_labels", "split")} | {f"fit@{n}-0" for n in names}
                               | {f"normalize@{n}-0-{d}" for n in names for d in ("synthia", "cityscapes")}
                               | {f"{s}@mixed-{n}-{k}" for s in ("train_seg", "evaluate") for n in names for k in (0, 1)}
                               | {"report"}), out
    checked, undeclared = _declared_reads_only(repo, audit)
    assert {"fetch@synthia", "normalize@unit-0-synthia", "evaluate@mixed-unit-0"} <= checked and not undeclared, undeclared
    cell = json.loads((repo / paths.eval_metrics_path("mixed", "unit", 0)).read_text())["mIoU"]
    assert {"cityscapes", "synthia_normalized", "average"} <= set(cell) and "gta5_normalized" not in cell
    text = (repo / paths.TABLE_MD).read_text()
    assert "of Cityscapes + normalized SYNTHIA segmenters" in text
    assert "| Normalizer | Cityscapes | SYNTHIA | Average | Cityscapes mIoU-16 |" in text and "Cityscapes mIoU-13" in text
    assert "The study reported" not in text  # Table 1's values are GTA5 -> Cityscapes figures
    for domain in ("synthia", "cityscapes"):  # the pair names the normalized images: Cityscapes in SYNTHIA's style here
        assert any((repo / paths.normalized_dir("unit", ("synthia", "cityscapes"), 0, domain) / paths.IMAGES).iterdir())
    run(["git", "checkout", "-q", "--", "params.yaml"], repo)
    out = dvc("repro", cwd=repo)
    assert ran_stages(out) <= {"report"}, out  # the report alone is not run-cached (its outputs are git's: dvc.yaml)
    assert (repo / paths.TABLE_MD).read_bytes() == table and (repo / paths.TABLE_JSON).read_bytes() == summary


def test_cityscapes_to_foggy_makes_only_the_new_pairs_stages_stale(repo):
    """#21: Cityscapes -> Foggy Cityscapes (a pair whose source is the default's target) makes Foggy's
    data stages, the pair's fits, normalizations and cells and the report stale, and no data stage of
    Cityscapes or GTA5; each cell reads the pair's images (run end to end for SYNTHIA above; `dvc status`
    here, as `dvc repro --dry` stops at the first stage whose input does not exist yet)."""
    edit_params(repo, lambda p: p["study"].update(domains=["cityscapes", "gta5", "foggy_cityscapes"],
                                                  source="cityscapes", target="foggy_cityscapes"))
    status = json.loads(dvc("status", "--json", cwd=repo))
    names = ("identity", "unit")
    assert set(status) == ({f"{s}@foggy_cityscapes" for s in ("fetch", "unify_labels", "split")}
                           | {f"fit@{n}-0" for n in names}
                           | {f"normalize@{n}-0-{d}" for n in names for d in ("cityscapes", "foggy_cityscapes")}
                           | {f"{s}@mixed-{n}-{k}" for s in ("train_seg", "evaluate") for n in names for k in (0, 1)}
                           | {"report"}), sorted(status)
    assert "data/normalized/cityscapes-foggy_cityscapes/unit" in status["train_seg@mixed-unit-0"][0]["changed deps"]


def test_every_normalizer_joins_the_grid_with_a_single_seed(repo):
    """CycleGAN and the training-free normalizers plug into the same grid; with one seed the report's
    intervals come from the paired test-set bootstrap."""
    edit_params(repo, lambda p: p["study"].update(normalizers=["identity", "unit", "cyclegan", "fda", "histmatch", "reinhard"],
                                                  seeds=[0]))
    out = dvc("repro", cwd=repo)
    new = ("cyclegan", "fda", "histmatch", "reinhard")
    assert ran_stages(out) == ({f"fit@{n}-0" for n in new} | {f"normalize@{n}-0-{d}" for n in new for d in ("gta5", "cityscapes")}
                               | {f"{s}@mixed-{n}-0" for s in ("train_seg", "evaluate") for n in new} | {"report"}), out
    table = json.loads((repo / paths.TABLE_JSON).read_text())["mixed"]
    assert list(table) == ["identity", "unit", *new]
    for name in new:
        row = table[name]["GTA5"]
        assert row["n"] == 1 and row["ci_low"] <= row["mean"] <= row["ci_high"] and 0 <= row["p_value"] <= 1
    grid = Image.open(repo / paths.fit_dir("cyclegan", PAIR, 0) / "live" / "plots" / "images" / "grid_000006.png")
    assert grid.size[0] == 2 * grid.size[1]  # real_A | fake_B | rec_A | idt_A over the same for B


def test_source_only_protocol_and_its_oracle_join_the_grid(repo):
    """#11: the second study's protocol runs in the same grid (no new translator training: its
    images come from the normalize stage's other direction), with the oracle as the table's last
    row; the source-only cells never train on the target, the oracle never on the source."""
    edit_params(repo, lambda p: p["study"].update(protocols=["mixed", "source_only"], oracles=["gta5"]))
    out = dvc("repro", cwd=repo)
    cells = {f"{s}@source_only-{n}-{k}" for s in ("train_seg", "evaluate") for n, k in GRID}
    oracle = {f"{s}@gta5-{k}" for s in ("train_oracle", "evaluate_oracle") for k in (0, 1)}
    oracle |= {f"fcn_score@{n}-gta5-{k}" for n, k in GRID}
    assert ran_stages(out) == cells | oracle | {"report"}, out  # the mixed cells and the translator are reused
    for (group, name), seed in [(("source_only", n), k) for n, k in GRID] + [((paths.ORACLE, "gta5"), k) for k in (0, 1)]:
        # every image list in the resolved config: training, the validation-loss hook, inference settings
        cfg = (repo / paths.seg_dir(group, name, seed) / "config.py").read_text()
        domains = {d for d in ("cityscapes", "gta5") if f"domain='{d}'" in cfg}
        assert domains == ({"cityscapes"} if group == "source_only" else {"gta5"}), (group, name, domains)
        assert "train_dataloader" in cfg and "domain=" in cfg[cfg.index("train_dataloader"):]
    table = json.loads((repo / paths.TABLE_JSON).read_text())
    assert list(table) == ["mixed", "source_only", "fcn_score"]
    assert list(table["fcn_score"]["cityscapes_to_gta5"]) == ["identity", "unit"]
    assert list(table["source_only"]) == ["identity", "unit", "oracle"]
    target = table["source_only"]["oracle"]["GTA5 (target)"]
    assert target["n"] == 2 and "delta_vs_identity" in target
    md = (repo / paths.TABLE_MD).read_text()
    assert "Protocol `source_only` (Cityscapes -> GTA5)" in md and "| oracle (trained on the target) |" in md
    assert (repo / paths.QUALITATIVE_DIR / "source_only.png").exists()


def test_fcn_score_identity_row_is_the_oracles_cross_domain_score(tmp_path):
    """#19: the FCN score of identity (the target's oracle on raw source test images) is the score
    evaluate_oracle reports for the same model on the same images; the report tables it and pairs it
    with the downstream gain; and the stage reads only what it declares. A grid of its own (identity,
    one seed, source_only with the GTA5 oracle) keeps it to two small trainings."""
    root = tiny_repo(tmp_path / "repo", lambda p: p["study"].update(
        protocols=["source_only"], normalizers=["identity"], seeds=[0], oracles=["gta5"]))
    audit = tmp_path / "audit"
    out = dvc("repro", cwd=root, STYLENORM_AUDIT_DIR=str(audit))
    assert "fcn_score@identity-gta5-0" in ran_stages(out), out
    from stylenorm.fcn import fcn_metrics_path
    fcn = json.loads((root / fcn_metrics_path("gta5", "identity", 0)).read_text())
    oracle = json.loads((root / paths.eval_metrics_path(paths.ORACLE, "gta5", 0)).read_text())
    assert (fcn["source"], fcn["target"]) == ("cityscapes", "gta5")
    assert fcn["mIoU"] == oracle["mIoU"]["cityscapes"] and fcn["aAcc"] == oracle["aAcc"]["cityscapes"]
    assert fcn["IoU"] == oracle["IoU"]["cityscapes"]
    table = json.loads((root / paths.TABLE_JSON).read_text())["fcn_score"]["cityscapes_to_gta5"]
    assert table["identity"]["mIoU"]["mean"] == oracle["mIoU"]["cityscapes"] and table["identity"]["mIoU"]["n"] == 1
    assert "FCN score" in (root / paths.TABLE_MD).read_text()
    plot = (root / "plots" / "fcn_vs_gain.csv").read_text().splitlines()
    assert len(plot) == 2 and plot[1].startswith("source_only,identity,cityscapes_to_gta5,"), plot
    checked, undeclared = _declared_reads_only(root, audit)
    assert "fcn_score@identity-gta5-0" in checked and not undeclared, undeclared


def test_changing_test_fraction_reruns_split_and_what_follows(repo):
    """With the grid cut to seed 0 (half the cells to re-run; study.seeds is no cell's dependency)."""
    edit_params(repo, lambda p: (p["split"].update(test_fraction=0.25), p["study"].update(seeds=[0])))
    stages = ran_stages(dvc("repro", cwd=repo))
    assert not {s for s in stages if s.startswith(("fetch", "unify_labels"))}
    assert {"split@cityscapes", "split@gta5", "fit@unit-0", "report"} <= stages
    assert {f"{s}@mixed-{n}-0" for s in ("train_seg", "evaluate") for n in ("identity", "unit")} <= stages


def test_a_unit_fit_param_reruns_unit_cells_only(repo):
    """Both seeds: the one fit (study.fit_seeds) feeds every seed's cells."""
    edit_params(repo, lambda p: p["unit"]["fit"]["loss"].update(recon_kl_w=0.02))
    out = dvc("repro", cwd=repo)
    # the translator, its images and what reads them; the identity cells are never retrained
    assert ran_stages(out) == {"fit@unit-0", "normalize@unit-0-gta5", "normalize@unit-0-cityscapes", "train_seg@mixed-unit-0",
                               "train_seg@mixed-unit-1", "evaluate@mixed-unit-0", "evaluate@mixed-unit-1", "report"}, out
    assert "resuming" not in out  # a changed config never resumes a stale checkpoint


def test_a_unit_apply_param_keeps_the_translator(repo):
    """On the grid cut to seed 0 (study.seeds is no cell's dependency)."""
    edit_params(repo, lambda p: (p["unit"]["apply"].update(align="pad"), p["study"].update(seeds=[0])))
    assert ran_stages(dvc("repro", cwd=repo)) == {"normalize@unit-0-gta5", "normalize@unit-0-cityscapes",
                                                  "train_seg@mixed-unit-0", "evaluate@mixed-unit-0", "report"}


def test_a_cyclegan_edit_reruns_no_unit_stage(repo):
    """#22: a learned normalizer's fit and normalize stages depend on its own package and the shared
    translator code, so an edit of CycleGAN's model leaves every UNIT (and identity) stage up to date;
    only the report, which imports every normalizer package for its row names, is stale."""
    from stylenorm import normalizers
    model_file = Path(inspect.getfile(normalizers.get("cyclegan").model_cls())).resolve().relative_to(REPO)
    with open(repo / model_file, "a") as f:
        f.write("\n# an edit of CycleGAN's model\n")
    status = json.loads(dvc("status", "--json", cwd=repo))
    assert set(status) == {"report"}, status


def test_a_protocols_base_edit_makes_only_the_stages_that_import_it_stale(repo):
    """#21 part 6, through DVC itself: after an edit of the protocols' base, `dvc status` names every
    segmenter cell, oracle and FCN score, their evaluations and the report, and no data, fit or
    normalize stage (those import no protocol code, so their dependency lists do not cover it)."""
    with open(repo / "stylenorm" / "protocols" / "base.py", "a") as f:
        f.write("\n# an edit of the protocols' base\n")
    status = json.loads(dvc("status", "--json", cwd=repo))
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    importers = {name for name in lock
                 if name.startswith(("train_seg@", "evaluate@", "train_oracle@", "evaluate_oracle@", "fcn_score@"))}
    assert importers and set(status) == importers | {"report"}, sorted(status)


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 240) -> None:
    try:
        deadline = time.time() + timeout
        while time.time() < deadline and not ready():
            assert proc.poll() is None, "the stage ended before it could be killed"
            time.sleep(0.2)
        assert ready(), "no checkpoint appeared in time"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # dvc and the stage under it, like a lost machine
        proc.wait()


def test_killed_translator_resumes_on_next_repro(repo):
    """Kill `dvc repro` mid-training once a checkpoint exists; the next `dvc repro` resumes from it."""
    n = 300  # iterations: room between the first checkpoints and the end for the kill to land on a loaded machine
    edit_params(repo, lambda p: p["unit"]["fit"].update(iterations=n, checkpoint_every=5, log_every=5, image_every=1000))
    ckpt = repo / paths.fit_work_dir("unit", PAIR, 0) / "checkpoints" / "last.pt"

    def checkpoint_step() -> int:
        try:  # the stage first clears the stale checkpoint of the earlier run, then writes new ones
            return torch.load(ckpt, weights_only=False)["step"]
        except (FileNotFoundError, EOFError, RuntimeError):
            return 0

    proc = subprocess.Popen([sys.executable, "-m", "dvc", "repro", "fit@unit-0"], cwd=repo, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    _kill_when(proc, lambda: checkpoint_step() >= 10)
    step = checkpoint_step()
    assert 10 <= step < n and not (repo / paths.fit_dir("unit", PAIR, 0) / "model.pt").exists()
    out = dvc("repro", "fit@unit-0", cwd=repo)
    assert f"resuming from {paths.fit_work_dir('unit', PAIR, 0) / 'checkpoints' / 'last.pt'} at step {step}/{n}" in out, out
    assert (repo / paths.fit_dir("unit", PAIR, 0) / "model.pt").exists()
    tsv = (repo / paths.fit_dir("unit", PAIR, 0) / "live" / "plots" / "metrics" / "train" / "loss_G.tsv").read_bytes()
    assert b"\r" not in tsv and [int(r.split(b"\t")[0]) for r in tsv.splitlines()[1:]] == list(range(5, n + 1, 5))


def test_killed_segmenter_resumes_to_the_uninterrupted_weights(repo, tmp_path):
    """SIGKILL `dvc repro` during segmentation; the next `dvc repro` resumes and ends with the weights
    of an uninterrupted run (a second copy, trained without a kill)."""
    edit_params(repo, lambda p: p["seg"].update(iterations=60, checkpoint_every=5, val_loss_every=1000))
    twin = tmp_path / "twin"
    shutil.copytree(repo, twin, symlinks=True)
    stage = "train_seg@mixed-identity-0"
    work = repo / paths.seg_work_dir("mixed", "identity", 0, PAIR)

    def checkpointed() -> bool:
        return (work / "last_checkpoint").exists() and any(work.glob("iter_1[05].pth"))

    proc = subprocess.Popen([sys.executable, "-m", "dvc", "repro", stage], cwd=repo, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    _kill_when(proc, checkpointed)
    assert not (repo / paths.seg_dir("mixed", "identity", 0) / "model.pth").exists()
    out = dvc("repro", stage, cwd=repo)
    assert "resuming from" in out, out
    dvc("repro", stage, cwd=twin)
    a = torch.load(repo / paths.seg_dir("mixed", "identity", 0) / "model.pth", weights_only=False)["state_dict"]
    b = torch.load(twin / paths.seg_dir("mixed", "identity", 0) / "model.pth", weights_only=False)["state_dict"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


def test_paper_profile_dry_run(repo):
    """The paper profile's pipeline resolves: `dvc repro --dry` lists every stage it would run."""
    from stylenorm.profiles import apply_profile
    apply_profile("paper", repo / "params.yaml", repo / "profiles")
    out = dvc("repro", "--dry", cwd=repo)
    # --dry cannot know that new upstream outputs would change later stages, so it lists the stages
    # whose own params the profile changes (every one that trains or reads the data sources).
    for stage in ("fetch@cityscapes", "fetch@gta5", "fit@unit-0", "normalize@unit-0-gta5", "train_seg@mixed-identity-0",
                  "train_seg@mixed-unit-1"):
        assert f"Running stage '{stage}'" in out, out
    assert "> python -m stylenorm.launch 1 stages.train_seg mixed identity 0" in out
    assert "deeplabv3plus_r101-d8" in (repo / "params.yaml").read_text()
    assert json.loads((repo / paths.fetch_report_path("gta5")).read_text())["source"] == "synthetic"  # nothing ran


# ----------------------------------------------------------------------------- what dvc.yaml declares
def _stages(full: bool = False, unrestorable: bool = False, study: dict | None = None):
    """Every stage of the repository's dvc.yaml as DVC resolves it (matrix cells included), by name whatever
    the cwd: (name, cmd, deps, outs); ``full``: with every protocol, normalizer and oracle in the grid (a copy
    of dvc.yaml beside an edited params.yaml), so that no stage is checked only when a user turns it on;
    ``study``: keys of the ``study`` section set on top (another pair); ``unrestorable``: only the stages
    DVC's run cache cannot hold (``stylenorm.dispatch.restorable``)."""
    from dvc.repo import Repo

    from stylenorm.dispatch import restorable
    root = REPO
    if full:
        from stylenorm import normalizers, protocols
        root = Path(tempfile.mkdtemp())
        (root / ".dvc").mkdir()
        (root / ".dvc" / "config").write_text("[core]\n    no_scm = true\n")
        shutil.copy2(REPO / "dvc.yaml", root / "dvc.yaml")
        params = yaml.safe_load((REPO / "params.yaml").read_text())
        params["study"].update(protocols=protocols.available(), normalizers=normalizers.available(),
                               oracles=["cityscapes", "gta5"])
        params["study"].update(study or {})
        (root / "params.yaml").write_text(yaml.safe_dump(params))
    try:
        with Repo(str(root)) as r:
            return [(s.name, s.cmd, [d.def_path for d in s.deps], [o.def_path for o in s.outs])
                    for s in r.index.stages if not (unrestorable and restorable(s))]
    finally:
        if full:
            shutil.rmtree(root)


def _covered(path: str, declared: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in declared)


def _module_file(name: str) -> Path | None:
    base = REPO / Path(*name.split("."))
    for f in (base.with_suffix(".py"), base / "__init__.py"):
        if f.exists():
            return f
    return None


def _imports(path: Path) -> set[Path]:
    """Project files (stylenorm.*, stages.*) that ``path`` imports, anywhere in it (functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.split(".")[0] in ("stylenorm", "stages"):
                parts = name.split(".")
                for k in range(1, len(parts) + 1):  # a package's __init__ runs for each of its modules
                    f = _module_file(".".join(parts[:k]))
                    if f:
                        found.add(f)
    return found


def _closure(start: list[Path]) -> set[Path]:
    seen, todo = set(), list(start)
    while todo:
        f = todo.pop()
        if f not in seen:
            seen.add(f)
            todo.extend(_imports(f))
    return seen


def test_every_stage_depends_on_the_code_it_imports():
    """Each stage's transitive imports of project code (and, for a stage that builds a normalizer, that
    normalizer's module, which it imports by name) are DVC dependencies, so no code change can leave a
    result stale."""
    from stylenorm import domains, normalizers, protocols
    missing = {}
    for name, cmd, deps, _ in _stages(full=True):
        words = cmd.split()
        launched = [w for w in words if w.startswith("stages.")]  # the stage module, also under stylenorm.launch
        start = [_module_file(words[words.index("-m") + 1])] + [_module_file(w) for w in launched]
        start = list(dict.fromkeys(start))
        if ".build()" in start[-1].read_text():  # the stage loads the normalizer named in its cmd
            start += [_module_file(f"stylenorm.normalizers.{w}") for w in words if w in normalizers.available()]
        if "params.protocol(" in start[-1].read_text():  # ... or the protocol(s) named in its cmd, or every one
            named = [w for w in words if w in protocols.available()] or protocols.available()
            start += [_module_file(f"stylenorm.protocols.{w}") for w in named]
        if re.search(r"domains\.(get|label)\(", start[-1].read_text()):  # ... or domain modules, by name
            start += [_module_file(f"stylenorm.domains.{d}") for d in domains.available()]
        files = {f.relative_to(REPO).as_posix() for f in _closure(start)}
        lacking = sorted(f for f in files if not _covered(f, deps))
        if lacking:
            missing[name] = lacking
    assert not missing, f"dvc.yaml misses dependencies: {missing}"


def test_every_stage_reads_only_what_it_declares(reproduced):
    """What each stage process opened for reading during the tiny `dvc repro` (an audit hook in
    stylenorm.cli) is a declared dependency, params.yaml, or one of its own outputs."""
    root, _, audit = reproduced
    checked, undeclared = _declared_reads_only(root, audit)
    assert len(checked) >= 10, checked  # the audit saw the stages run
    assert not undeclared, f"stages read undeclared files: {undeclared}"


def test_dvc_metrics_show_on_the_committed_grid_fits_160_columns():
    """#20: the committed default grid's `dvc metrics show` (what a user sees after cloning) fits 160 columns."""
    out = dvc("metrics", "show", cwd=REPO)
    assert "metrics/summary/mixed/unit.json" in out and max(map(len, out.splitlines())) <= 160, out


def test_every_stage_is_run_cacheable():
    """#23: in the full grid, no stage but the report (seconds of tables, git-tracked) has an output that
    keeps DVC from saving its run: a `persist` one, or a `cache: false` one that is neither a metric nor
    a plot (DVC 3.67's Stage.run saves no run-cache entry then)."""
    blocking = [name for name, *_ in _stages(full=True, unrestorable=True) if name != "report"]
    assert not blocking, blocking


def test_each_pairs_fits_and_resume_points_have_their_own_paths():
    """#21: a fit is the pair's (UNIT for SYNTHIA -> Cityscapes is not GTA5 -> Cityscapes'), so its output and
    the normalize stages reading it name the pair, as the cells' resume points do: another pair's run keeps
    this pair's (an oracle's resume point is its domain's alone)."""
    synthia = {"domains": ["cityscapes", "gta5", "synthia"], "source": "synthia"}
    fits = {}
    for pair, study in ((("gta5", "cityscapes"), None), (("synthia", "cityscapes"), synthia)):
        stages = {name: (deps, outs) for name, _, deps, outs in _stages(full=True, study=study)}
        fits[pair] = stages["fit@unit-0"][1]
        assert fits[pair] == [paths.fit_dir("unit", pair, 0).as_posix()]
        assert paths.fit_dir("unit", pair, 0).as_posix() in stages["normalize@unit-0-cityscapes"][0]
    assert not set(fits[("gta5", "cityscapes")]) & set(fits[("synthia", "cityscapes")])
    assert paths.seg_work_dir("mixed", "unit", 0, ("gta5", "cityscapes")) != paths.seg_work_dir("mixed", "unit", 0, ("synthia", "cityscapes"))
    assert paths.seg_work_dir(paths.ORACLE, "cityscapes", 0) == paths.MODELS_DIR / "seg_work" / paths.ORACLE / "cityscapes" / "seed0"


def test_dvc_yaml_paths_match_the_library():
    stages = {name: (deps, outs) for name, _, deps, outs in _stages(full=True)}
    for domain in ("cityscapes", "gta5"):
        assert paths.sampled_dir(domain).as_posix() in stages[f"fetch@{domain}"][1]
        assert paths.unified_dir(domain).as_posix() in stages[f"unify_labels@{domain}"][1]
        assert paths.splits_dir(domain).as_posix() in stages[f"split@{domain}"][1]
        assert paths.fetch_report_path(domain).as_posix() in stages[f"fetch@{domain}"][1]
    cells = [(p, n, f"{p}-{n}") for p in ("mixed", "source_only") for n in ("identity", "unit")]
    cells += [(paths.ORACLE, d, d) for d in ("cityscapes", "gta5")]
    for name in ("identity", "unit"):
        fit_outs = stages[f"fit@{name}-0"][1]
        assert paths.fit_dir(name, PAIR, 0).as_posix() in fit_outs
        assert paths.fit_work_dir(name, PAIR, 0).as_posix() not in fit_outs  # resume points: outside DVC's outputs
        for domain in ("cityscapes", "gta5"):
            outs = stages[f"normalize@{name}-0-{domain}"][1]
            assert {paths.normalized_dir(name, ("gta5", "cityscapes"), 0, domain).as_posix(), paths.normalize_report_path(name, 0, domain).as_posix()} <= set(outs)
    for group, name, stage in cells:
        train, evaluate = ("train_oracle", "evaluate_oracle") if group == paths.ORACLE else ("train_seg", "evaluate")
        for seed in (0, 1, 2):
            seg_outs = stages[f"{train}@{stage}-{seed}"][1]
            assert paths.seg_dir(group, name, seed).as_posix() in seg_outs
            assert paths.seg_work_dir(group, name, seed, None if group == paths.ORACLE else PAIR).as_posix() not in seg_outs
            assert f"{paths.seg_live_dir(group, name, seed).as_posix()}/metrics.json" in seg_outs
            eval_outs = stages[f"{evaluate}@{stage}-{seed}"][1]
            assert {paths.eval_dir(group, name, seed).as_posix(),
                    paths.eval_metrics_path(group, name, seed).as_posix()} <= set(eval_outs)
    from stylenorm.fcn import fcn_dir, fcn_metrics_path
    for name in ("identity", "unit"):
        for target in ("cityscapes", "gta5"):
            outs = stages[f"fcn_score@{name}-{target}-1"][1]
            assert {fcn_dir(target, name, 1).as_posix(), fcn_metrics_path(target, name, 1).as_posix()} <= set(outs)
    report_outs = stages["report"][1]
    for p in (paths.TABLE_MD, paths.TABLE_JSON, paths.GRID_PLOT, paths.GRID_FIGURE, paths.DELTA_PLOT, paths.QUALITATIVE_DIR):
        assert p.as_posix() in report_outs
