"""Label unification: every encoding maps every label id to the right train id."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from stylenorm import labels
from stylenorm.datasets import DatasetError
from stylenorm.unify import decode_train_ids, fit_to_image

# One pixel per Cityscapes label id 0..33, and the train id the Cityscapes spec gives it.
ALL_IDS = np.arange(labels.NUM_LABEL_IDS, dtype=np.uint8).reshape(2, 17)
EXPECTED = {0: 255, 1: 255, 2: 255, 3: 255, 4: 255, 5: 255, 6: 255, 7: 0, 8: 1, 9: 255, 10: 255, 11: 2,
            12: 3, 13: 4, 14: 255, 15: 255, 16: 255, 17: 5, 18: 255, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10,
            24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 29: 255, 30: 255, 31: 16, 32: 17, 33: 18}


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def expected_map(ids: np.ndarray) -> np.ndarray:
    return np.vectorize(EXPECTED.get)(ids).astype(np.uint8)


def test_tables_come_from_cityscapesscripts():
    assert labels.CLASSES[0] == "road" and labels.CLASSES[-1] == "bicycle" and len(labels.CLASSES) == 19
    assert labels.PALETTE[0] == (128, 64, 128)
    lut = labels.id_to_train_id_lut()
    assert {i: int(lut[i]) for i in range(34)} == EXPECTED


def test_grayscale_ids():
    mapped, encoding = decode_train_ids(png(Image.fromarray(ALL_IDS, mode="L")), "x.png")
    assert encoding == "ids"
    np.testing.assert_array_equal(mapped, expected_map(ALL_IDS))


def test_palette_index_is_label_id():
    img = Image.fromarray(ALL_IDS, mode="L").convert("P")
    img.putpalette(labels.cityscapes_palette_bytes())
    mapped, encoding = decode_train_ids(png(img), "x.png")
    assert encoding == "palette"
    np.testing.assert_array_equal(mapped, expected_map(ALL_IDS))


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_rgb_exact_colour(mode):
    rgb = np.array([[labels.COLOR_OF_ID[int(i)] for i in row] for row in ALL_IDS], dtype=np.uint8)
    mapped, encoding = decode_train_ids(png(Image.fromarray(rgb, "RGB").convert(mode)), "x.png")
    assert encoding == "rgb"
    want = expected_map(ALL_IDS)
    # Colours shared by several labels resolve to the evaluated one: polegroup (18) looks like pole.
    want[ALL_IDS == 18] = EXPECTED[17]
    np.testing.assert_array_equal(mapped, want)


def test_unknown_colour_names_file_and_colour():
    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    rgb[0, 0] = (1, 2, 3)
    with pytest.raises(DatasetError, match=r"labels/00007\.png.*colours.*\(1, 2, 3\)"):
        decode_train_ids(png(Image.fromarray(rgb, "RGB")), "labels/00007.png")
    mapped, _ = decode_train_ids(png(Image.fromarray(rgb, "RGB")), "x.png", unknown_to_ignore=True)
    assert mapped[0, 0] == 255 and mapped[1, 1] == 255  # black is 'unlabeled' -> ignore anyway


def test_unknown_palette_index():
    ids = np.full((3, 3), 7, dtype=np.uint8)
    ids[1, 1] = 40
    with pytest.raises(DatasetError, match=r"bad\.png.*palette indices.*\[40\]"):
        decode_train_ids(png(Image.fromarray(ids, "L").convert("P")), "bad.png")


def test_corrupt_png_is_named():
    data = png(Image.fromarray(ALL_IDS, mode="L"))
    with pytest.raises(DatasetError, match=r"broken\.png: not a readable label image"):
        decode_train_ids(data[: len(data) // 2], "broken.png")


def test_fit_to_image_policies():
    label = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert fit_to_image(label, (4, 3), "drop") is label
    assert fit_to_image(label, (5, 3), "drop") is None
    resized = fit_to_image(label, (8, 6), "resize_label")
    assert resized.shape == (6, 8) and set(np.unique(resized)) <= set(range(12))
    cropped = fit_to_image(label, (3, 4), "crop")
    np.testing.assert_array_equal(cropped[:3], label[:, :3])
    assert (cropped[3] == 255).all()
