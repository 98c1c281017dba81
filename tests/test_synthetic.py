"""The embedded dataset: deterministic, all 19 classes plus void, two visibly different styles."""
from __future__ import annotations

import numpy as np

from stylenorm import labels, synthetic
from stylenorm.domains import cityscapes, gta5


def test_scene_is_deterministic():
    a = synthetic.scene(0, "gta5", 3, 96, 53, "game")
    b = synthetic.scene(0, "gta5", 3, 96, 53, "game")
    c = synthetic.scene(1, "gta5", 3, 96, 53, "game")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_all_train_classes_and_void_occur_with_plausible_frequencies():
    counts = np.zeros(256, dtype=np.int64)
    to_train_id = labels.id_to_train_id_lut(255)  # void ids -> 255, as unify_labels maps them
    for i in range(40):
        _, ids = synthetic.scene(0, "cityscapes", i, 256, 128, "real")
        counts += np.bincount(to_train_id[ids].ravel(), minlength=256)
    freq = counts[:19] / counts[:19].sum()
    assert (counts[:19] > 0).all(), [labels.CLASSES[i] for i in np.flatnonzero(counts[:19] == 0)]
    assert counts[255] > 0  # void pixels that must map to ignore
    dominant = {labels.CLASSES[i] for i in np.argsort(freq)[-4:]}
    assert {"road", "building", "vegetation"} <= dominant
    assert freq[labels.CLASSES.index("bicycle")] < 0.01 and freq[labels.CLASSES.index("motorcycle")] < 0.01


def test_same_layout_two_styles_differ_visibly():
    real, ids_real = synthetic.scene(0, "x", 0, 128, 64, "real")
    game, ids_game = synthetic.scene(0, "x", 0, 128, 64, "game")
    np.testing.assert_array_equal(ids_real, ids_game)  # same content...

    def saturation(img):
        x = img.astype(np.float32)
        return float((x.max(axis=2) - x.min(axis=2)).mean())

    assert saturation(game) > 1.5 * saturation(real)  # ...different style
    assert game.astype(np.float32).std() > real.astype(np.float32).std()  # higher contrast


def test_native_layouts(tmp_path):
    gta5.write_tree(tmp_path / "g", n=5, seed=0, scale=0.03, missing_rate=0.0, mismatch_rate=0.0)
    cityscapes.write_tree(tmp_path / "c", n=5, seed=0, scale=0.03)
    from PIL import Image
    lab = Image.open(tmp_path / "g" / "labels" / "00001.png")
    assert lab.mode == "P" and lab.getpalette()[3 * 7: 3 * 7 + 3] == [128, 64, 128]  # index 7 = road colour
    assert Image.open(tmp_path / "g" / "images" / "00001.png").size == synthetic.scaled(gta5.NATIVE_SIZE, 0.03)
    ids = sorted((tmp_path / "c" / "gtFine").rglob("*_gtFine_labelIds.png"))
    colours = sorted((tmp_path / "c" / "gtFine").rglob("*_gtFine_color.png"))
    images = sorted((tmp_path / "c" / "leftImg8bit").rglob("*_leftImg8bit.png"))
    assert len(ids) == len(colours) == len(images) == 5
    assert Image.open(ids[0]).mode == "L"
    w, h = Image.open(images[0]).size
    assert w == 2 * h
