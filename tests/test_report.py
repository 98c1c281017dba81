"""The report's comparisons beyond "row against identity", against hand computations: every pair of
normalizers with Holm-adjusted p-values over the family a protocol's tables show, the seeds a paired
t-test needs, the classes each row learned, the per-class differences against identity, and display
names that come from the normalizer modules."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from stylenorm import domains, paths
from stylenorm.protocols.mixed import Mixed
from stylenorm.report import (class_delta_rows, classes_learned, display_name, grid_table, load_cells, markdown,
                              set_domains, summary_metrics, tuning_columns)
from tests.test_statistics import T975_DF2, _holm_by_hand, _seeds_by_hand

LABELS = {d: domains.label(d) for d in ("cityscapes", "gta5")}  # as the report names the domains
MIXED = Mixed(labels=LABELS)
NAMES = ["identity", "unit", "fda"]
# Per seed 0, 1, 2: Cityscapes and GTA5 mIoU of each row (Average = their mean, as evaluate writes it).
CITY = {"identity": [0.30, 0.32, 0.28], "unit": [0.31, 0.30, 0.275], "fda": [0.33, 0.36, 0.30]}
GTA = {"identity": [0.50, 0.50, 0.50], "unit": [0.40, 0.41, 0.42], "fda": [0.45, 0.47, 0.46]}
# Per-class IoU on Cityscapes (road, car, sky; None = the class is absent from the test set); GTA5: road only.
CLASS_IOU = {"identity": [(0.60, 0.04, None), (0.62, 0.06, None), (0.58, 0.05, None)],
             "unit": [(0.64, 0.10, None), (0.61, 0.07, None), (0.60, 0.09, None)],
             "fda": [(0.59, 0.00, None), (0.63, 0.20, None), (0.60, 0.01, None)]}


def _rows(names):
    return {n: ("mixed", n) for n in names}


def _write_grid():
    for n in NAMES:
        for s in range(3):
            city, gta = CITY[n][s], GTA[n][s]
            road, car, sky = CLASS_IOU[n][s]
            path = paths.eval_metrics_path("mixed", n, s)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({
                "mIoU": {"cityscapes": city, "gta5_normalized": gta, "average": (city + gta) / 2},
                "IoU": {"cityscapes": {"road": road, "car": car, "sky": sky}, "gta5_normalized": {"road": gta}}}))


@pytest.fixture
def grid(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_grid()
    cells = load_cells(_rows(NAMES), [0, 1, 2])
    table = grid_table(cells, _rows(NAMES), MIXED, domains=set_domains(MIXED, ["unit"], 0), confidence=0.95,
                       resamples=100, boot_seed=0)
    return cells, table


def _values(name, column):
    if column == "Cityscapes":
        return CITY[name]
    if column == "GTA5":
        return GTA[name]
    return [(c + g) / 2 for c, g in zip(CITY[name], GTA[name])]


PAIRS = [("identity", "unit"), ("identity", "fda"), ("unit", "fda")]  # (a, b): b − a
COLUMNS = ["Cityscapes", "GTA5", "Average"]


def _family():
    """Raw paired t-test p of every comparison the tables show (3 pairs x 3 columns), scipy directly."""
    return {(a, b, c): stats.ttest_rel(_values(b, c), _values(a, c)).pvalue for a, b in PAIRS for c in COLUMNS}


def test_every_pair_of_normalizers_is_compared_seed_by_seed(grid):
    _, table = grid
    fda = table["fda"]["Cityscapes"]
    d = np.subtract(CITY["fda"], CITY["unit"])  # +0.02, +0.06, +0.025
    half = T975_DF2 * d.std(ddof=1) / math.sqrt(3)
    assert fda["delta_vs_unit"] == pytest.approx(d.mean())
    assert (fda["delta_vs_unit_ci_low"], fda["delta_vs_unit_ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    t = d.mean() / (d.std(ddof=1) / math.sqrt(3))  # Student t(2): CDF = 1/2 + t / (2 sqrt(2 + t^2))
    assert fda["p_value_vs_unit"] == pytest.approx(2 * (0.5 - t / (2 * math.sqrt(2 + t * t))))
    assert (fda["n_up_vs_unit"], fda["n_down_vs_unit"]) == (3, 0)
    assert fda["sd_delta_vs_unit"] == pytest.approx(d.std(ddof=1))
    # the comparison against identity keeps its keys, and gains the same new figures
    assert table["fda"]["Cityscapes"]["delta_vs_identity"] == pytest.approx(np.mean(np.subtract(CITY["fda"], CITY["identity"])))
    assert "delta_vs_fda" not in table["unit"]["Cityscapes"] and "delta_vs_unit" not in table["identity"]["Cityscapes"]


def test_holm_adjusts_over_every_comparison_the_tables_show(grid):
    _, table = grid
    family = _family()
    keys = list(family)
    adjusted = dict(zip(keys, _holm_by_hand([family[k] for k in keys])))
    for (a, b, c), p in adjusted.items():
        row = table[b][c]
        got = row["p_holm"] if a == "identity" else row[f"p_holm_vs_{a}"]
        raw = row["p_value"] if a == "identity" else row[f"p_value_vs_{a}"]
        assert raw == pytest.approx(family[(a, b, c)]), (a, b, c)
        assert got == pytest.approx(p), (a, b, c)
    assert any(adjusted[k] > family[k] for k in keys)  # the adjustment did something here


def test_seeds_needed_come_from_each_comparison_s_own_spread(grid):
    _, table = grid
    for a, b in PAIRS:
        for c in COLUMNS:
            sd = np.subtract(_values(b, c), _values(a, c)).std(ddof=1)
            row = table[b][c]
            suffix = "" if a == "identity" else f"_vs_{a}"
            assert row[f"seeds_for_0_01{suffix}"] == _seeds_by_hand(sd, 0.01), (a, b, c)
            assert row[f"seeds_for_0_02{suffix}"] == _seeds_by_hand(sd, 0.02), (a, b, c)
    assert table["unit"]["Cityscapes"]["seeds_for_0_01"] == 20  # s_d = 0.015: d = 2/3


def test_markdown_shows_pairs_holm_seeds_and_what_is_significant(grid):
    cells, table = grid
    text = markdown(table, MIXED, seeds=(0, 1, 2), fit_seeds=(0,), confidence=0.95,
                    learned=classes_learned(cells, MIXED))
    family = _family()
    keys = list(family)
    adjusted = dict(zip(keys, _holm_by_hand([family[k] for k in keys])))
    assert "| FDA − UNIT |" in text and "| UNIT − identity |" in text  # pairwise and seeds tables
    assert "identity − UNIT" not in text and "UNIT − FDA" not in text
    fda_unit = table["fda"]["Cityscapes"]
    assert f"{fda_unit['delta_vs_unit']:+.3f} [{fda_unit['delta_vs_unit_ci_low']:+.3f}, " in text
    short = {"identity": "identity", "unit": "UNIT", "fda": "FDA"}
    significant = sorted(f"{short[b]} − {short[a]} ({c})" for (a, b, c), p in adjusted.items() if p < 0.05)
    line = next(x for x in text.splitlines() if x.startswith("Significant"))
    assert f"Holm-adjusted p < 0.05 over the {len(keys)} comparisons" in line
    for s in significant:
        assert s in line
    assert line.count(" − ") == len(significant)
    seeds_row = next(x for x in text.splitlines() if x.startswith("| UNIT − identity |") and " / " in x and "[" not in x)
    assert "| 20 / 7 |" in seeds_row  # Cityscapes: s_d = 0.015
    # classes learned (IoU > 0.05), per seed, in the caption
    assert "identity (raw; the study's baseline): Cityscapes 1/2/1, GTA5 1/1/1;" in text
    assert "UNIT: Cityscapes 2/2/2" in text
    assert "FDA: Cityscapes 1/2/1" in text


@pytest.mark.parametrize("p, shown", [(0.0491, "p = 0.049"), (0.0509, "p = 0.051"), (0.12, "p = 0.12"),
                                      (0.0449, "p = 0.04"), (0.003, "p = 0.003"), (0.0004, "p < 0.001")])
def test_a_p_value_next_to_the_threshold_shows_its_side(p, shown):
    """A Holm p of 0.0491 listed as significant must not read "Holm p = 0.05" in the same table."""
    from stylenorm.report import _fmt_p
    assert _fmt_p(p) == shown


def test_classes_learned_count_iou_above_five_percent(grid):
    cells, _ = grid
    learned = classes_learned(cells, MIXED)
    assert learned["identity"]["Cityscapes"] == [1, 2, 1]  # car 0.04, 0.06, 0.05: only seed 1's is above
    assert learned["unit"]["GTA5"] == [1, 1, 1] and "Average" not in learned["unit"]  # Average has no per-class IoU


def test_per_class_difference_against_identity_by_hand(grid):
    cells, _ = grid
    frame = class_delta_rows("mixed", cells, MIXED, confidence=0.95)
    assert list(frame.columns) == ["protocol", "normalizer", "panel", "column", "class", "delta", "ci_low", "ci_high", "n"]
    assert set(frame["normalizer"]) == {"unit", "fda"} and set(frame["column"]) == {"Cityscapes", "GTA5"}
    assert "sky" not in set(frame["class"])  # absent from the test set: no IoU, no difference
    car = frame[(frame.normalizer == "unit") & (frame.column == "Cityscapes") & (frame["class"] == "car")].iloc[0]
    d = np.array([0.10 - 0.04, 0.07 - 0.06, 0.09 - 0.05])
    half = T975_DF2 * d.std(ddof=1) / math.sqrt(3)
    assert car.delta == pytest.approx(d.mean()) and car.n == 3
    assert (car.ci_low, car.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    road = frame[(frame.normalizer == "fda") & (frame.column == "GTA5") & (frame["class"] == "road")].iloc[0]
    assert road.delta == pytest.approx(np.mean(np.subtract(GTA["fda"], GTA["identity"])))
    assert car.panel == "mixed: UNIT − identity"


def test_single_seed_pairs_come_from_the_shared_bootstrap(tmp_path, monkeypatch):
    """One seed: a pair's difference is bootstrapped on the same resampled images for both rows (equal
    per-image counts differ by exactly zero); there is no paired SD, so no seed count."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    union = rng.integers(50, 100, (30, 4))
    inter = (union * rng.random((30, 4))).astype(int)
    for n in NAMES:
        out = paths.eval_dir("mixed", n, 0)
        out.mkdir(parents=True, exist_ok=True)
        for test_set in ("cityscapes", "gta5_normalized"):
            np.savez(out / f"per_image_{test_set}.npz", ids=np.arange(30), intersection=inter, union=union)
        path = paths.eval_metrics_path("mixed", n, 0)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"mIoU": {"cityscapes": 0.4, "gta5_normalized": 0.4, "average": 0.4},
                                    "IoU": {"cityscapes": {"road": 0.4}, "gta5_normalized": {"road": 0.4}}}))
    table = grid_table(load_cells(_rows(NAMES), [0]), _rows(NAMES), MIXED, domains=set_domains(MIXED, ["unit"], 0),
                       confidence=0.95, resamples=200, boot_seed=0)
    row = table["fda"]["GTA5"]
    assert row["delta_vs_unit_ci_low"] == row["delta_vs_unit_ci_high"] == 0.0 and row["p_value_vs_unit"] == 1.0
    assert math.isnan(row["seeds_for_0_01_vs_unit"]) and math.isnan(row["seeds_for_0_01"])
    text = markdown(table, MIXED, seeds=(0,), fit_seeds=(0,), confidence=0.95)
    assert "| FDA − UNIT |" in text and "one seed" in text


def test_display_names_come_from_the_normalizer_modules(monkeypatch):
    """A new normalizer needs no edit of report.py: its module's ``display_name`` is used, or its name."""
    from stylenorm import normalizers
    from stylenorm.normalizers.base import Normalizer
    from stylenorm.report import ORACLE
    for name in normalizers.available():
        cls = normalizers.get(name)
        assert display_name(name) == (cls.display_name or name)
    assert display_name("unit") == "UNIT" and display_name("histmatch") == "histogram matching"
    assert display_name(ORACLE) == "oracle (trained on the target)"
    assert display_name("not_a_module") == "not_a_module"

    class Plain(Normalizer):  # a new module that sets no display name
        name = "plain"
    monkeypatch.setattr(normalizers, "available", lambda: ["plain"])
    monkeypatch.setattr(normalizers, "get", lambda name: Plain)
    assert display_name("plain") == "plain"


def test_per_class_delta_csv_is_a_declared_plot_of_the_report():
    import yaml

    from stylenorm.report import CLASS_DELTA_PLOT
    from tests.conftest import REPO
    report = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["report"]
    plots = {next(iter(p)) if isinstance(p, dict) else p: (p[next(iter(p))] if isinstance(p, dict) else {})
             for p in report["plots"]}
    props = plots[CLASS_DELTA_PLOT.as_posix()]
    assert props["x"] == "delta" and props["y"] == "class" and props["cache"] is False
    template = REPO / props["template"]
    assert template.exists() and "<DVC_METRIC_DATA>" in template.read_text()
    # per-class IoU: every file of the folder, whatever the grid (no list of protocol/normalizer files)
    assert plots["plots/per_class_iou"]["template"] == "bar_horizontal" and plots["plots/per_class_iou"]["y"] == "class"
    top = yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]
    assert not any("plots/per_class_iou/" in json.dumps(p) for p in top)



VAL_CITY = {"identity": [0.40, 0.42, 0.38], "unit": [0.41, 0.39, 0.37], "fda": [0.44, 0.43, 0.45]}


def test_validation_means_are_declared_metrics_for_tuning(grid):
    """#20: a user tuning with `dvc exp run -S seg.lr=...` compares validation mIoU through `dvc metrics diff`
    (summary/<protocol>/val/<row>.json: each column's mean over seeds), never the test table; the files
    use the test summaries' keys, so `dvc metrics show` gains rows, not columns."""
    cells, table = grid
    for n in NAMES:
        for s, cell in cells[n].items():
            cell["val"] = {"mIoU": {"cityscapes": VAL_CITY[n][s], "gta5_normalized": 0.5 + s / 100,
                                    "average": (VAL_CITY[n][s] + 0.5 + s / 100) / 2}}
    out = summary_metrics("mixed", table, cells, MIXED)
    val = out[paths.SUMMARY_DIR / "mixed" / "val" / "fda.json"]
    assert val["mIoU"]["Cityscapes"] == pytest.approx(np.mean(VAL_CITY["fda"]))
    assert val["mIoU"]["GTA5"] == pytest.approx(0.51)
    assert set(val["mIoU"]) == {"Cityscapes", "GTA5", "Average"}
    assert set(val) == {"mIoU"}  # no delta: a tuning read-out, not a comparison
    test_keys = {k for f, v in out.items() if "val" not in f.parts for k in v["mIoU"]}
    assert set(val["mIoU"]) <= test_keys


def test_source_only_tunes_on_the_source_alone():
    """Under source_only the target's validation score is oracle tuning: only the source's column is a
    tuning column; under mixed both training domains (and their average) are."""
    assert tuning_columns(MIXED) == {"Cityscapes": "cityscapes", "GTA5": "gta5_normalized", "Average": "average"}
    from stylenorm.protocols.source_only import Direction, SourceOnly
    for source, target in (("cityscapes", "gta5"), ("gta5", "cityscapes")):
        cols = tuning_columns(SourceOnly(Direction(source=source, target=target), LABELS))
        assert list(cols.values()) == [source], cols


def test_class_subset_columns_score_the_subsets_classes_only_and_are_compared_like_the_others(tmp_path, monkeypatch):
    """#21: SYNTHIA -> Cityscapes is scored on 16 and 13 classes beside the 19: a column per subset and test set,
    whose per-seed value is the mean IoU of the subset's classes present (here road and car; sky is absent), paired
    with identity like any column; a set lacking every class of a subset gets no such column."""
    monkeypatch.chdir(tmp_path)
    _write_grid()
    cells = load_cells(_rows(NAMES), [0, 1, 2])
    subsets = {"2": ("road", "sky"), "car": ("car",)}
    table = grid_table(cells, _rows(NAMES), MIXED, domains=set_domains(MIXED, ["unit"], 0), confidence=0.95,
                       resamples=100, boot_seed=0, subsets=subsets)
    assert list(table["unit"]) == ["Cityscapes", "GTA5", "Average", "Cityscapes mIoU-2", "GTA5 mIoU-2",
                                   "Cityscapes mIoU-car"]  # GTA5 has no car IoU here: no column
    road = {n: [c[0] for c in CLASS_IOU[n]] for n in NAMES}
    car = {n: [c[1] for c in CLASS_IOU[n]] for n in NAMES}
    assert table["fda"]["Cityscapes mIoU-2"]["mean"] == pytest.approx(np.mean(road["fda"]))  # sky absent: road alone
    assert table["fda"]["Cityscapes mIoU-car"]["mean"] == pytest.approx(np.mean(car["fda"]))
    assert table["fda"]["GTA5 mIoU-2"]["mean"] == pytest.approx(np.mean(GTA["fda"]))  # GTA5's only class is road
    d = [b - a for a, b in zip(car["identity"], car["unit"])]
    assert table["unit"]["Cityscapes mIoU-car"]["delta_vs_identity"] == pytest.approx(np.mean(d))
    assert table["unit"]["Cityscapes mIoU-car"]["p_value"] == pytest.approx(stats.ttest_rel(car["unit"], car["identity"]).pvalue)
