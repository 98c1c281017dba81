"""Protocols (#11): what each trains on and is scored on, their params, and their tables.

The training lists are checked directly (the source-only cells never list a target image, the
oracle never a source image); the end-to-end run of a tiny source_only grid is in test_pipeline.py.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from stylenorm import domains, paths
from stylenorm.components import load_params
from stylenorm.config import ConfigError
from stylenorm.normalizers import Context, get
from stylenorm.protocols import available
from stylenorm.protocols.base import oracle_sets, oracle_test_sets
from stylenorm.report import LABEL, grid_table, load_cells, markdown, rows, set_domains, summary_metrics
from tests.conftest import REPO


def _params(tmp_path, **sections):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw.update(sections)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_params(path)


def _domains(sets) -> set[str]:
    return {s.domain for s in sets}


def test_every_protocol_module_has_a_params_section_and_loads():
    params = load_params(REPO / "params.yaml")
    assert set(params.protocols) == set(available()) >= {"mixed", "source_only"}
    for name in available():
        assert params.protocol(name).name == name


@pytest.mark.parametrize("source, target", [("cityscapes", "gta5"), ("gta5", "cityscapes")])
def test_source_only_trains_on_the_source_alone_and_scores_on_both(tmp_path, source, target):
    protocol = _params(tmp_path, source_only={"source": source, "target": target}).protocol("source_only")
    for normalizer in ("identity", "unit"):
        for split in ("train", "val"):  # the validation loss, too, never reads the target
            sets = protocol.train_sets(normalizer, 0, split)
            assert _domains(sets) == {source} and {s.split for s in sets} == {split}
            assert all(s.images_dir == paths.normalized_dir(normalizer, ("gta5", "cityscapes"), 0, source) / paths.IMAGES for s in sets)
        tests = protocol.test_sets(normalizer, 0)
        assert list(tests) == [target, source]  # the target first: the table's first column
        assert all(t.images_dir == paths.sampled_dir(t.domain) / paths.IMAGES for t in tests.values())  # raw
    assert protocol.oracle_domain() == target
    assert list(protocol.columns().values()) == [target, source]


def test_mixed_trains_on_both_domains_and_the_oracle_on_its_own():
    from stylenorm.protocols.mixed import Mixed
    mixed = Mixed()
    assert [(s.domain, s.images_dir) for s in mixed.train_sets("unit", 0, "train")] == [
        ("cityscapes", paths.sampled_dir("cityscapes") / paths.IMAGES),
        ("gta5", paths.normalized_dir("unit", ("gta5", "cityscapes"), 0, "gta5") / paths.IMAGES)]
    assert "gta5_raw" in mixed.test_sets("unit", 0, extra=True) and "gta5_raw" not in mixed.test_sets("identity", 0, extra=True)
    for domain in ("cityscapes", "gta5"):
        assert _domains(oracle_sets(domain, "train")) == {domain} and _domains(oracle_sets(domain, "val")) == {domain}
    assert list(oracle_test_sets(("gta5", "cityscapes"))) == ["cityscapes", "gta5"]  # target first


def test_bad_protocol_sections_fail_with_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"source_only: source and target are both 'gta5'"):
        _params(tmp_path, source_only={"source": "gta5", "target": "gta5"}).protocol("source_only")
    with pytest.raises(ConfigError, match=r"source_only: target: 'mars' is no domain"):
        _params(tmp_path, source_only={"source": "gta5", "target": "mars"}).protocol("source_only")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) source_only\.direction"):
        _params(tmp_path, source_only={"source": "gta5", "target": "cityscapes", "direction": 1}).protocol("source_only")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) mixed\.x"):
        _params(tmp_path, mixed={"x": 1}).protocol("mixed")


def _cell(group, name, seed, miou: dict):
    path = paths.eval_metrics_path(group, name, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mIoU": miou, "IoU": {k: {"road": v} for k, v in miou.items()}}))


def test_source_only_table_has_the_oracle_last_and_pairs_it_by_seed(tmp_path, monkeypatch):
    labels = {d: domains.label(d) for d in ("cityscapes", "gta5")}  # as the report names them
    protocol = _params(tmp_path, source_only={"source": "cityscapes", "target": "gta5"}).protocol("source_only", labels)
    monkeypatch.chdir(tmp_path)
    for seed, (raw_gta, unit_gta, oracle_gta) in enumerate([(0.20, 0.24, 0.50), (0.22, 0.25, 0.52), (0.21, 0.27, 0.49)]):
        _cell("source_only", "identity", seed, {"gta5": raw_gta, "cityscapes": 0.4})
        _cell("source_only", "unit", seed, {"gta5": unit_gta, "cityscapes": 0.38})
        _cell(paths.ORACLE, "gta5", seed, {"gta5": oracle_gta, "cityscapes": 0.1})
    table_rows = rows("source_only", protocol, ["identity", "unit"], ("gta5",))
    assert table_rows["oracle"] == (paths.ORACLE, "gta5")
    assert "oracle" not in rows("source_only", protocol, ["identity", "unit"], ("cityscapes",))  # not trained: no row
    cells = load_cells(table_rows, [0, 1, 2])
    table = grid_table(cells, table_rows, protocol,
                       domains=set_domains(protocol, ["identity", "unit"], 0), confidence=0.95, resamples=100, boot_seed=0)
    assert list(table) == ["identity", "unit", "oracle"]
    # Tuning read-outs: the source's validation score alone (the target's would be oracle tuning), no oracle row.
    for n in ("identity", "unit"):
        for s, cell in cells[n].items():
            cell["val"] = {"mIoU": {"gta5": 0.9, "cityscapes": 0.3 + s / 10}}
    val = {f.name: v for f, v in summary_metrics("source_only", table, cells, protocol).items() if f.parent.name == "val"}
    assert val == {f"{n}.json": {"mIoU": {"Cityscapes (source)": pytest.approx(0.4)}} for n in ("identity", "unit")}
    del cells["unit"][2]["val"]
    with pytest.raises(ValueError, match=r"unit-seed2\.json: no val\.mIoU\.cityscapes"):
        summary_metrics("source_only", table, cells, protocol)
    target = "GTA5 (target)"
    assert table["unit"][target]["delta_vs_identity"] == pytest.approx(np.mean([0.04, 0.03, 0.06]))
    assert table["oracle"][target]["delta_vs_identity"] == pytest.approx(np.mean([0.30, 0.30, 0.28]))  # the domain gap
    assert table["oracle"][target]["n_up"] == 3
    text = markdown(table, protocol, seeds=(0, 1, 2), fit_seeds=(0,), confidence=0.95)
    assert "Protocol `source_only` (Cityscapes -> GTA5)" in text
    assert "| identity (raw source: source-only) |" in text and f"| {LABEL['oracle']} |" in text
    assert "| Normalizer | GTA5 (target) | Cityscapes (source) | n |" in text
    assert "The study reported" not in text  # the second study reported no numbers


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


@pytest.mark.parametrize("name", ["histmatch", "reinhard"])
def test_pooled_references_work_in_both_directions_after_one_fit(tmp_path, name):
    """fit writes each domain's pooled statistics, so apply maps Cityscapes into the GTA5 style too
    (the second study's direction) without a second fit."""
    rng = np.random.default_rng(0)
    images = {d: [_write(tmp_path / d / f"{i}.png", np.clip(rng.normal(mean, 20, (16, 24, 3)), 0, 255).astype(np.uint8))
                  for i in range(4)] for d, mean in (("cityscapes", 80), ("gta5", 170))}
    cls = get(name)
    normalizer = cls(cls.Fit(), cls.Apply(reference="pooled"))
    fit_dir = tmp_path / "fit"
    fit_dir.mkdir()
    normalizer.fit(Context("gta5", "cityscapes", 0, train_images=images), fit_dir)
    for source, target in (("gta5", "cityscapes"), ("cityscapes", "gta5")):
        dests = [tmp_path / "out" / source / p.name for p in images[source]]
        dests[0].parent.mkdir(parents=True)
        normalizer.apply(Context(source, target, 0, train_images=images), fit_dir, images[source], dests)
        out_mean = np.mean([np.asarray(Image.open(d)).mean() for d in dests])
        target_mean = np.mean([np.asarray(Image.open(p)).mean() for p in images[target]])
        assert abs(out_mean - target_mean) < 5, (source, out_mean, target_mean)


def test_the_second_studys_split_sizes_are_a_params_setting():
    """README: all 3475 labelled Cityscapes pairs (2975 train + 500 val) with split.val_fraction
    0.1439 and split.test_fraction 0.257 give the study's 2082 / 500 / 893."""
    import pandas as pd

    from stylenorm.splits import split_index
    index = pd.DataFrame({"id": [f"{i:05d}" for i in range(3475)]})
    parts = split_index(index, val_fraction=0.1439, test_fraction=0.257, seed=0, stream=1, domain="cityscapes")
    assert {k: len(v) for k, v in parts.items()} == {"train": 2082, "val": 500, "test": 893}


def test_qualitative_grid_gives_every_image_row_the_same_columns(tmp_path, monkeypatch):
    """mixed: input | truth | identity's prediction | UNIT's input | UNIT's prediction, on Cityscapes
    rows (UNIT's input is raw there) as on GTA5 rows (UNIT's is translated); nothing is cropped away."""
    from stylenorm.protocols.mixed import Mixed
    from stylenorm.report import qualitative_grid
    monkeypatch.chdir(tmp_path)
    rgb, label = np.full((32, 64, 3), 90, np.uint8), np.zeros((32, 64), np.uint8)
    for domain in ("cityscapes", "gta5"):
        _write(paths.sampled_dir(domain) / paths.IMAGES / "a.png", rgb)
        _write(paths.unified_dir(domain) / paths.LABELS / "a.png", label)
        for n in ("identity", "unit"):
            _write(paths.normalized_dir(n, ("gta5", "cityscapes"), 0, domain) / paths.IMAGES / "a.png", rgb)
    for n in ("identity", "unit"):
        for test_set in ("cityscapes", "gta5_normalized"):
            _write(paths.eval_dir("mixed", n, 0) / "pred" / test_set / "a.png", label)
    mixed = Mixed()
    table_rows = {n: ("mixed", n) for n in ("identity", "unit")}
    grid = qualitative_grid(table_rows, {n: mixed.test_sets(n, 0) for n in table_rows}, 0,
                            {"cityscapes": ["a"], "gta5_normalized": ["a"]}, height=32)
    assert grid.shape == (2 * 32, 5 * 64, 3)


def test_results_from_confusions_pools_and_averages_only_the_protocols_sets():
    from stylenorm.evaluation import results_from_confusions
    a, b = np.diag([5, 5] + [0] * 17).astype(np.int64), np.zeros((19, 19), np.int64)
    b[0, 0], b[1, 0] = 4, 4  # class 1 always predicted as 0: IoU 0 for class 1, 0.5 for class 0
    mixed = results_from_confusions({"cityscapes": a, "gta5_normalized": b}, ("cityscapes", "gta5_normalized"))
    assert list(mixed["mIoU"]) == ["cityscapes", "gta5_normalized", "pooled", "average"]
    assert mixed["mIoU"]["cityscapes"] == pytest.approx(1.0) and mixed["mIoU"]["gta5_normalized"] == pytest.approx(0.25)
    assert mixed["mIoU"]["average"] == pytest.approx(0.625)
    assert mixed["mIoU"]["pooled"] == pytest.approx((9 / 13 + 5 / 9) / 2)  # summed confusions, not the mean
    alone = results_from_confusions({"gta5": b, "cityscapes": a})
    assert list(alone["mIoU"]) == ["gta5", "cityscapes"]  # source_only: no pooled, no average


def _pair_params(tmp_path, source, target, **sections):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["study"].update(source=source, target=target, domains=sorted({"cityscapes", "gta5", source, target}))
    raw.update(sections)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_params(path)


def test_mixed_trains_on_the_studys_pair(tmp_path):
    """#21: with study.source = synthia, mixed trains on raw Cityscapes + SYNTHIA in its style, under the pair's
    folder, and is scored on them; Table 1's reported values (GTA5 -> Cityscapes) are not shown."""
    params = _pair_params(tmp_path, "synthia", "cityscapes")
    mixed = params.protocol("mixed", labels={d: domains.label(d) for d in params.study.domains})
    assert [(s.domain, s.images_dir) for s in mixed.train_sets("unit", 0, "train")] == [
        ("cityscapes", paths.sampled_dir("cityscapes") / paths.IMAGES),
        ("synthia", paths.normalized_dir("unit", ("synthia", "cityscapes"), 0, "synthia") / paths.IMAGES)]
    assert list(mixed.test_sets("unit", 0, extra=True)) == ["cityscapes", "synthia_normalized", "synthia_raw"]
    assert mixed.pooled == ("cityscapes", "synthia_normalized") and mixed.reported == {}
    assert list(mixed.columns()) == ["Cityscapes", "SYNTHIA", "Average"] and "SYNTHIA segmenters" in mixed.title()
    assert params.protocol("mixed").reported == {} and _params(tmp_path).protocol("mixed").reported  # the default keeps them


def test_source_only_must_be_the_pair_either_way_round(tmp_path):
    params = _pair_params(tmp_path, "cityscapes", "foggy_cityscapes",
                          source_only={"source": "cityscapes", "target": "foggy_cityscapes"})
    assert params.protocol("source_only").oracle_domain() == "foggy_cityscapes"
    with pytest.raises(ConfigError, match=r"source_only: source and target \(cityscapes, gta5\) must be the study's pair"):
        _pair_params(tmp_path, "cityscapes", "foggy_cityscapes").protocol("source_only")  # the default's direction


def test_a_stage_argument_outside_the_pair_is_named(tmp_path):
    study = _pair_params(tmp_path, "synthia", "cityscapes").study
    assert study.in_pair("synthia") == "synthia"
    with pytest.raises(ConfigError, match=r"domain 'gta5' is not in the study's pair \(study.source 'synthia', study.target 'cityscapes'\)"):
        study.in_pair("gta5")


def test_a_translators_sides_follow_the_pair_in_both_directions():
    from stylenorm.normalizers._translator import side
    pair = ("synthia", "cityscapes")
    assert side(Context("synthia", "cityscapes", 0, pair=pair), "synthia") == "A"
    assert side(Context("cityscapes", "synthia", 0, pair=pair), "cityscapes") == "B"  # the reverse direction: still B
    with pytest.raises(ValueError, match="neither side of the study's pair"):
        side(Context("gta5", "cityscapes", 0, pair=pair), "gta5")
