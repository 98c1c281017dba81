"""The FCN score (translation quality): a target-domain oracle's score on the source's normalized test
images against the source's labels, checked against hand-computed confusions; and how the report
summarises it and pairs it with a normalizer's downstream gain."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from stylenorm import domains, paths
from stylenorm.fcn import fcn_metrics_path, fcn_table, gain_rows, score_translation
from stylenorm.protocols import base as protocols_base
from stylenorm.protocols.mixed import Mixed
from stylenorm.protocols.source_only import Direction, SourceOnly
from tests.test_statistics import T975_DF2

# Two 2x2 GTA5 test images: labels (255 = ignore) and what a stub oracle predicts on each.
LABELS = {"a": [[0, 0], [1, 255]], "b": [[1, 1], [2, 2]]}
PREDS = {"a": [[0, 1], [1, 1]], "b": [[1, 1], [2, 0]]}
# Confusion (truth, prediction): (0,0) 1, (0,1) 1, (1,1) 3, (2,2) 1, (2,0) 1 -> 5 of 7 pixels right;
# IoU road 1/(1+1+1), sidewalk 3/(3+1), building 1/(1+1).
HAND_MIOU, HAND_AACC = (1 / 3 + 3 / 4 + 1 / 2) / 3, 5 / 7


def _tiny_test_set(root):
    (root / paths.splits_dir("gta5")).mkdir(parents=True)
    (root / paths.split_list("gta5", "test")).write_text("id\na\nb\n")
    (root / paths.unified_dir("gta5") / paths.LABELS).mkdir(parents=True)
    images = root / "normalized_images"
    images.mkdir()
    for i, lab in LABELS.items():
        Image.fromarray(np.array(lab, dtype=np.uint8)).save(root / paths.unified_dir("gta5") / paths.LABELS / f"{i}.png")
        Image.new("RGB", (2, 2)).save(images / f"{i}.png")
    return protocols_base.TestSet("gta5", "test", images)


def test_score_translation_gives_the_hand_computed_miou_and_pixel_accuracy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    test_set = _tiny_test_set(tmp_path)
    seen = []

    def predict(image_path):
        seen.append(image_path)
        return np.array(PREDS[image_path.stem], dtype=np.uint8)

    result = score_translation(predict, test_set, tmp_path / "out")
    assert [p.parent for p in seen] == [test_set.images_dir] * 2  # the normalized images, scored on the source's labels
    assert result["mIoU"] == pytest.approx(HAND_MIOU)
    assert result["aAcc"] == pytest.approx(HAND_AACC)
    assert result["IoU"]["road"] == pytest.approx(1 / 3) and result["IoU"]["car"] is None
    conf = np.load(tmp_path / "out" / "confusion_gta5_normalized.npy")
    assert conf.sum() == 7 and conf[2, 0] == 1 and np.trace(conf) == 5


def _write_fcn(target, values):
    """values: normalizer -> per seed (mIoU, aAcc)."""
    for n, per_seed in values.items():
        for s, (miou, acc) in enumerate(per_seed):
            path = fcn_metrics_path(target, n, s)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"mIoU": miou, "aAcc": acc}))


def test_fcn_table_is_mean_and_t_interval_over_oracle_seeds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_fcn("cityscapes", {"identity": [(0.10, 0.5), (0.12, 0.6), (0.14, 0.7)], "unit": [(0.2, 0.7)] * 3})
    table = fcn_table("cityscapes", ["identity", "unit"], [0, 1, 2], confidence=0.95)
    cell = table["identity"]["mIoU"]
    assert cell["mean"] == pytest.approx(0.12) and cell["n"] == 3
    assert cell["ci_high"] - cell["mean"] == pytest.approx(T975_DF2 * 0.02 / math.sqrt(3))
    assert table["identity"]["aAcc"]["mean"] == pytest.approx(0.6)
    with pytest.raises(FileNotFoundError, match=r"fcn_score@fda-cityscapes-0"):
        fcn_table("cityscapes", ["fda"], [0], confidence=0.95)


def test_gain_rows_pair_each_protocols_translation_with_its_target_column():
    """mixed translates GTA5 into Cityscapes: its FCN score is the Cityscapes oracle's, its gain the
    Cityscapes column's; source_only (Cityscapes -> GTA5) pairs with the GTA5 oracle and the target column."""
    fcn = {"gta5_to_cityscapes": {"identity": {"mIoU": {"mean": 0.1}}, "unit": {"mIoU": {"mean": 0.3}}},
           "cityscapes_to_gta5": {"identity": {"mIoU": {"mean": 0.2}}, "unit": {"mIoU": {"mean": 0.25}}}}
    delta = {"mean": 0.3, "delta_vs_identity": 0.02, "delta_ci_low": 0.01, "delta_ci_high": 0.03}
    tables = {"mixed": {"identity": {"Cityscapes": {"mean": 0.28}}, "unit": {"Cityscapes": delta, "GTA5": {**delta, "delta_vs_identity": 9.0}}},
              "source_only": {"identity": {"GTA5 (target)": {"mean": 0.1}},
                              "unit": {"GTA5 (target)": {**delta, "delta_vs_identity": -0.01}},
                              "oracle": {"GTA5 (target)": {**delta, "delta_vs_identity": 0.5}}}}
    labels = {d: domains.label(d) for d in ("cityscapes", "gta5")}
    protocols = {"mixed": Mixed(labels=labels), "source_only": SourceOnly(Direction("cityscapes", "gta5"), labels)}
    rows = gain_rows(tables, fcn, protocols, fit_seed=0)
    got = {(r.protocol, r.normalizer): (r.direction, r.column, r.fcn_miou, r.gain) for r in rows.itertuples()}
    assert got == {("mixed", "identity"): ("gta5_to_cityscapes", "Cityscapes", 0.1, 0.0),
                   ("mixed", "unit"): ("gta5_to_cityscapes", "Cityscapes", 0.3, 0.02),
                   ("source_only", "identity"): ("cityscapes_to_gta5", "GTA5 (target)", 0.2, 0.0),
                   ("source_only", "unit"): ("cityscapes_to_gta5", "GTA5 (target)", 0.25, -0.01)}
    assert gain_rows(tables, {}, protocols, fit_seed=0).empty  # no oracle listed: an empty plot, not an error
