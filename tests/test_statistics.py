"""Intervals, paired tests and the test-set bootstrap, against hand computations."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from stylenorm import domains, paths
from stylenorm.protocols.mixed import Mixed
from stylenorm.report import grid_table, load_cells, markdown, set_domains
from stylenorm.statistics import bootstrap_indices, bootstrap_miou, mean_ci, miou_from_sums, paired, percentile_interval

T975_DF2 = 4.302652729911275  # t(0.975, 2), from tables


def test_mean_ci_matches_hand_computation():
    iv = mean_ci([1.0, 2.0, 3.0])  # mean 2, s = 1, se = 1/sqrt(3)
    half = T975_DF2 / math.sqrt(3)
    assert iv.mean == pytest.approx(2.0) and iv.n == 3
    assert iv.ci_low == pytest.approx(2 - half, abs=1e-9) and iv.ci_high == pytest.approx(2 + half, abs=1e-9)
    one = mean_ci([0.4])
    assert one.mean == 0.4 and math.isnan(one.ci_low) and math.isnan(one.ci_high)


def test_paired_difference_ci_and_p_value_by_hand():
    a = [0.30, 0.32, 0.28]  # identity, seeds 0, 1, 2
    b = [0.31, 0.30, 0.275]  # normalizer, same seeds: d = +0.01, -0.02, -0.005
    pr = paired(a, b)
    # mean d = -0.005, s_d = 0.015, se = 0.015 / sqrt(3); t = -0.57735
    half = T975_DF2 * 0.015 / math.sqrt(3)
    assert pr.delta.mean == pytest.approx(-0.005, abs=1e-12)
    assert pr.delta.ci_low == pytest.approx(-0.005 - half, abs=1e-9)
    assert pr.delta.ci_high == pytest.approx(-0.005 + half, abs=1e-9)
    # Student t with 2 degrees of freedom has the closed-form CDF 1/2 + t / (2 sqrt(2 + t^2)).
    t = 0.005 / (0.015 / math.sqrt(3))
    assert pr.p_value == pytest.approx(2 * (0.5 - t / (2 * math.sqrt(2 + t * t))), abs=1e-9)
    assert (pr.n_up, pr.n_down, pr.n_tied) == (1, 2, 0)
    # Unpaired, the same numbers give a different p: pairing matters.
    from scipy import stats
    assert abs(stats.ttest_ind(b, a).pvalue - pr.p_value) > 0.05


def test_bootstrap_sums_intersections_and_unions_not_per_image_miou():
    # Image 0: class 0 perfect (10/10), class 1 absent. Image 1: class 0 empty, class 1 half right (5/10).
    inter = np.array([[10, 0], [0, 5]])
    union = np.array([[10, 0], [0, 10]])
    idx = np.array([[0, 0], [0, 1], [1, 1]])
    draws = bootstrap_miou(inter, union, idx)
    # [0, 0]: class 0 IoU 20/20, class 1 undefined -> 1.0; [0, 1]: (10/10 + 5/10) / 2; [1, 1]: class 1 only, 10/20.
    np.testing.assert_allclose(draws, [1.0, 0.75, 0.5])
    assert miou_from_sums(inter.sum(0), union.sum(0)) == pytest.approx(0.75)


def test_bootstrap_of_identical_images_has_zero_width():
    inter = np.tile([[7, 3, 0]], (25, 1))
    union = np.tile([[9, 6, 0]], (25, 1))
    draws = bootstrap_miou(inter, union, bootstrap_indices(25, 1000, seed=0))
    assert np.ptp(draws) == 0 and draws[0] == pytest.approx((7 / 9 + 3 / 6) / 2)


def test_bootstrap_indices_follow_the_seed():
    a, b, c = (bootstrap_indices(10, 50, s) for s in (1, 1, 2))
    assert np.array_equal(a, b) and not np.array_equal(a, c) and a.min() >= 0 and a.max() < 10


LABELS = {d: domains.label(d) for d in ("cityscapes", "gta5")}  # as the report names the domains
MIXED = Mixed(labels=LABELS)
DOMAINS = set_domains(MIXED, ["unit"], 0)


def _rows(names):
    return {n: ("mixed", n) for n in names}


def _table(names, seeds, **kw):
    return grid_table(load_cells(_rows(names), seeds), _rows(names), MIXED, domains=DOMAINS, **kw)


def _write_cell(name, seed, city, gta):
    path = paths.eval_metrics_path("mixed", name, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    iou = {"cityscapes": {"road": city}, "gta5_normalized": {"road": gta}}
    path.write_text(json.dumps({"mIoU": {"cityscapes": city, "gta5_normalized": gta, "average": (city + gta) / 2},
                                "IoU": iou}))


def test_grid_table_pairs_cells_by_seed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for seed, (c0, c1) in enumerate([(0.30, 0.31), (0.32, 0.30), (0.28, 0.275)]):
        _write_cell("identity", seed, c0, 0.5)
        _write_cell("unit", seed, c1, 0.4 + 0.01 * seed)
    table = _table(["identity", "unit"], [0, 1, 2], confidence=0.95, resamples=100, boot_seed=0)
    city = table["unit"]["Cityscapes"]
    assert city["delta_vs_identity"] == pytest.approx(-0.005)
    t = 0.005 / (0.015 / math.sqrt(3))
    assert city["p_value"] == pytest.approx(2 * (0.5 - t / (2 * math.sqrt(2 + t * t))))
    assert (city["n_up"], city["n_down"]) == (1, 2) and city["n"] == 3
    assert table["identity"]["GTA5"]["mean"] == pytest.approx(0.5) and table["identity"]["GTA5"]["ci_low"] == pytest.approx(0.5)
    assert "delta_vs_identity" not in table["identity"]["Cityscapes"]
    text = markdown(table, MIXED, seeds=(0, 1, 2), fit_seeds=(0,), confidence=0.95)
    assert "t(0.975, 2) = 4.30" in text and "| UNIT |" in text and "fit seed 0" in text


def test_missing_cell_names_its_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_cell("identity", 0, 0.3, 0.3)
    with pytest.raises(FileNotFoundError, match=r"metrics/eval/mixed/identity-seed1\.json: missing \(run evaluate@mixed-identity-1\)"):
        load_cells(_rows(["identity"]), [0, 1])


def _write_per_image(name, seed, test_set, inter, union):
    out = paths.eval_dir("mixed", name, seed)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / f"per_image_{test_set}.npz", ids=np.arange(len(inter)), intersection=inter, union=union)


def test_single_seed_bootstrap_is_paired_across_models_and_sets(tmp_path, monkeypatch):
    """One seed: every model and every set of a domain share one resample of that domain's test images,
    so a normalizer whose per-image counts equal identity's differs by exactly zero in every draw."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    union = rng.integers(50, 100, (30, 4))
    inter = (union * rng.random((30, 4))).astype(int)
    for name in ("identity", "unit"):
        for test_set in ("cityscapes", "gta5_normalized"):
            _write_per_image(name, 0, test_set, inter, union)
        _write_cell(name, 0, 0.4, 0.4)
    _write_per_image("unit", 0, "gta5_raw", inter, union)  # identity has no raw set of its own: its GTA5 is raw
    metrics = json.loads(paths.eval_metrics_path("mixed", "unit", 0).read_text())
    metrics["mIoU"]["gta5_raw"] = 0.4
    paths.eval_metrics_path("mixed", "unit", 0).write_text(json.dumps(metrics))
    table = _table(["identity", "unit"], [0], confidence=0.95, resamples=300, boot_seed=0)
    for column in ("Cityscapes", "GTA5", "Average", "GTA5 raw"):
        row = table["unit"][column]
        assert row["delta_ci_low"] == row["delta_ci_high"] == 0.0, column
    assert table["unit"]["GTA5"]["ci_low"] < table["unit"]["GTA5"]["ci_high"]  # the mIoU itself does vary


def test_small_p_values_keep_a_significant_digit_and_labels_name_every_normalizer():
    from stylenorm.normalizers import available, get
    from stylenorm.report import _fmt_delta, display_name
    row = dict(delta_vs_identity=0.027, delta_ci_low=0.020, delta_ci_high=0.034, n_up=3, n_down=0)
    assert ", p = 0.04 " in _fmt_delta({**row, "p_value": 0.04}) + " "
    assert ", p = 0.003 " in _fmt_delta({**row, "p_value": 0.0031}) + " "  # not "p = 0.00"
    assert ", p < 0.001 " in _fmt_delta({**row, "p_value": 0.0002}) + " "
    assert all(display_name(n) == get(n).display_name for n in available())  # every normalizer names its row


def test_single_seed_bootstrap_draws_each_domain_from_its_declared_seed(tmp_path, monkeypatch):
    """Cityscapes' resamples come from report.bootstrap_seed, GTA5's from bootstrap_seed + 1 (the
    seeds the committed single-seed tables were drawn with): a reordering of domains would move them."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    per_set = {}
    for test_set, n in (("cityscapes", 30), ("gta5_normalized", 40)):
        union = rng.integers(50, 100, (n, 4))
        per_set[test_set] = ((union * rng.random((n, 4))).astype(int), union)
        _write_per_image("identity", 0, test_set, *per_set[test_set])
    _write_cell("identity", 0, 0.4, 0.4)
    table = _table(["identity"], [0], confidence=0.95, resamples=300, boot_seed=5)
    for column, test_set, seed in (("Cityscapes", "cityscapes", 5), ("GTA5", "gta5_normalized", 6)):
        inter, union = per_set[test_set]
        draws = bootstrap_miou(inter, union, bootstrap_indices(len(inter), 300, seed))
        expected = percentile_interval(0.4, draws, 0.95)
        assert (table["identity"][column]["ci_low"], table["identity"][column]["ci_high"]) == \
            pytest.approx((expected.ci_low, expected.ci_high)), column


def _holm_by_hand(p):
    """Holm's step-down adjustment written out: the i-th smallest of m p-values times (m - i), then a
    running maximum (an adjusted p never falls below a smaller raw p's), capped at 1."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def test_holm_adjusts_the_finite_p_values_as_a_family():
    from stylenorm.statistics import holm
    # m = 3: 0.01 * 3 = 0.03; 0.03 * 2 = 0.06; 0.04 * 1 = 0.04 -> 0.06 (never below the previous step)
    adjusted = holm([0.01, 0.04, float("nan"), 0.03])
    assert adjusted[0] == pytest.approx(0.03) and adjusted[1] == pytest.approx(0.06)
    assert math.isnan(adjusted[2]) and adjusted[3] == pytest.approx(0.06)  # a NaN p is not one of the family
    rng = np.random.default_rng(3)
    p = list(rng.random(9) ** 2)
    np.testing.assert_allclose(holm(p), _holm_by_hand(p))
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])  # capped at 1


def _seeds_by_hand(sd, difference, power=0.8, alpha=0.05):
    """Smallest n whose two-sided one-sample t-test on n paired differences (mean ``difference``, SD ``sd``)
    rejects with probability >= ``power``: under the alternative, t = mean / (s / sqrt(n)) is noncentral t
    with n - 1 degrees of freedom and noncentrality difference / sd * sqrt(n). The lower tail
    P(T < -crit) is written as the upper tail at -nc (scipy's nct.cdf returns NaN at a large nc)."""
    from scipy import stats
    for n in range(2, 100_000):
        crit = stats.t.ppf(1 - alpha / 2, n - 1)
        nc = difference / sd * math.sqrt(n)
        if stats.nct.sf(crit, n - 1, nc) + stats.nct.sf(crit, n - 1, -nc) >= power:
            return n


def test_seeds_needed_for_80_percent_power_match_the_noncentral_t():
    from stylenorm.statistics import paired, seeds_needed
    pr = paired([0.30, 0.32, 0.28], [0.31, 0.30, 0.275])  # differences +0.01, -0.02, -0.005: s_d = 0.015
    assert pr.sd == pytest.approx(0.015)
    for difference in (0.01, 0.02):
        assert seeds_needed(pr.sd, difference) == _seeds_by_hand(0.015, difference)
    assert seeds_needed(0.015, 0.01) == 20 and seeds_needed(0.015, 0.02) == 7  # d = 2/3 and 4/3
    assert seeds_needed(0.01, 0.01) == 10  # d = 1: the textbook 9.94, rounded up
    assert seeds_needed(0.0001, 0.01) == 2  # a paired t-test needs two differences, however large the effect
    # large effects, where statsmodels' root finder gave NaN (d = 6, 20) or 2 (d = 10: power 0.73 at two seeds)
    for sd, difference, n in ((0.01 / 6, 0.01, 3), (0.001, 0.01, 3), (0.001, 0.02, 2), (0.005, 0.01, 5)):
        assert seeds_needed(sd, difference) == _seeds_by_hand(sd, difference) == n, (sd, difference)
    for sd in np.geomspace(0.0005, 0.05, 25):  # every regime between, scan and root finder
        assert seeds_needed(sd, 0.01) == _seeds_by_hand(sd, 0.01), sd
    assert math.isnan(seeds_needed(float("nan"), 0.01)) and math.isnan(seeds_needed(0.0, 0.01))
