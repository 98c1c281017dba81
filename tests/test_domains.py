"""Domains as registered components: SYNTHIA's 16-bit labels and Foggy Cityscapes' betas through the
data stages users run, their embedded data, and bad input that names the file."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from stages.fetch import fetch
from stages.split import split
from stages.unify_labels import unify_labels
from stylenorm import domains, labels, paths, synthetic
from stylenorm.config import ConfigError
from stylenorm.datasets import DatasetError, open_tree
from stylenorm.domains import cityscapes, foggy_cityscapes, synthia
from tests.test_data_stages import with_source


def synthia_label(class_ids: np.ndarray, instance_ids: np.ndarray) -> np.ndarray:
    """A label as SYNTHIA ships it (BGR order for OpenCV): 16 bits a channel, class in red, instance in green."""
    return np.stack([np.zeros_like(class_ids), instance_ids, class_ids], axis=-1).astype(np.uint16)


def write_synthia_by_hand(root, n: int, size=(40, 24)) -> dict[str, np.ndarray]:
    """A SYNTHIA-RAND-CITYSCAPES tree whose labels hold every class id 0..22 in stripes, and instance ids
    above 255 (so that reading 8 bits, as PIL does, would lose them); returns id -> class-id map."""
    (root / "RGB").mkdir(parents=True)
    (root / "GT" / "LABELS").mkdir(parents=True)
    rng = np.random.default_rng(0)
    classes = {}
    for i in range(n):
        w, h = size
        ids = (np.arange(w)[None, :].repeat(h, 0) + i) % 23  # every id in every file
        instances = (300 + np.arange(h)[:, None].repeat(w, 1) * 7).astype(np.uint16)
        stem = f"{i:07d}"
        cv2.imwrite(str(root / "GT" / "LABELS" / f"{stem}.png"), synthia_label(ids.astype(np.uint16), instances))
        cv2.imwrite(str(root / "RGB" / f"{stem}.png"), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        classes[stem] = ids
    return classes


def test_synthia_labels_through_fetch_and_unify_map_every_id(params, tmp_path):
    classes = write_synthia_by_hand(tmp_path / "synthia", n=25)
    p = with_source(params, "synthia", source="local", local_path=str(tmp_path / "synthia"))
    report = fetch("synthia", p)
    assert report["sampled"] == params.data.n_per_domain
    manifest = pd.read_csv(paths.sampled_dir("synthia") / paths.MANIFEST, dtype={"id": str})
    for row in manifest.itertuples():  # copied untouched: still 16 bits, instances > 255 intact
        assert (paths.sampled_dir("synthia") / "labels" / f"{row.id}.png").read_bytes() == open(row.label_source, "rb").read()
    unified = unify_labels("synthia", p)
    assert unified["encodings"] == {"synthia16": params.data.n_per_domain}
    expected_name = {0: None, 1: "sky", 2: "building", 3: "road", 4: "sidewalk", 5: "fence", 6: "vegetation",
                     7: "pole", 8: "car", 9: "traffic sign", 10: "person", 11: "bicycle", 12: "motorcycle",
                     13: None, 14: None, 15: "traffic light", 16: None, 17: "rider", 18: None, 19: "bus",
                     20: None, 21: "wall", 22: None}  # the dataset's README, as the literature maps it
    index = pd.read_csv(paths.unified_dir("synthia") / paths.INDEX, dtype={"id": str})
    for stem in index.id:
        got = np.asarray(Image.open(paths.unified_dir("synthia") / "labels" / f"{stem}.png"))
        want = np.vectorize(lambda k: 255 if expected_name[k] is None else labels.TRAIN_ID[expected_name[k]])(classes[stem])
        np.testing.assert_array_equal(got, want)
    assert len(synthia.CLASSES_16) == 16 and len(synthia.CLASSES_13) == 13
    assert {expected_name[k] for k in expected_name} - {None} == set(synthia.CLASSES_16)
    assert set(synthia.CLASSES_16) - set(synthia.CLASSES_13) == {"wall", "fence", "pole"}


def test_synthia_bad_labels_name_the_file(params, tmp_path):
    write_synthia_by_hand(tmp_path / "synthia", n=25)
    p = with_source(params, "synthia", source="local", local_path=str(tmp_path / "synthia"))
    fetch("synthia", p)
    first, second = sorted((paths.sampled_dir("synthia") / "labels").glob("*.png"))[:2]
    eight_bit = cv2.imread(str(first), cv2.IMREAD_UNCHANGED).astype(np.uint8)  # a converted copy
    cv2.imwrite(str(first), eight_bit)
    with pytest.raises(DatasetError, match=rf"{first.name}: a SYNTHIA label is a 16-bit, three-channel PNG .* 8-bit"):
        unify_labels("synthia", p)
    assert not paths.unified_dir("synthia").exists()
    fetch("synthia", p)
    label = cv2.imread(str(second), cv2.IMREAD_UNCHANGED)
    label[0, :3, 2] = (40, 40, 300)  # class ids SYNTHIA does not have
    cv2.imwrite(str(second), label)
    with pytest.raises(DatasetError, match=rf"{second.name}: SYNTHIA class ids outside its table \(0\.\.22\): \[40, 300\]"):
        unify_labels("synthia", p)
    ignoring = dataclasses.replace(p, unify_labels=dataclasses.replace(p.unify_labels, unknown_to_ignore=True))
    assert unify_labels("synthia", ignoring)["unknown_to_ignore"]["values"] == {"40": {"files": 1, "pixels": 2},
                                                                              "300": {"files": 1, "pixels": 1}}


def test_synthia_unreadable_inputs_name_what_to_do(params, tmp_path):
    (tmp_path / "SYNTHIA_RAND_CITYSCAPES.rar").write_bytes(b"Rar!\x1a\x07\x00")
    with pytest.raises(DatasetError, match=r"SYNTHIA_RAND_CITYSCAPES\.rar: a \.rar archive is read only once extracted"):
        fetch("synthia", with_source(params, "synthia", source="local", local_path=str(tmp_path / "SYNTHIA_RAND_CITYSCAPES.rar")))
    with pytest.raises(ConfigError, match=r"data\.synthia\.source: download is not offered: .* extract it \(unrar x or 7z x\)"):
        fetch("synthia", with_source(params, "synthia", source="download"))
    with pytest.raises(DatasetError, match=r"GT/LABELS/0000007\.png: not a readable label image"):
        synthia.decode_label(b"", "GT/LABELS/0000007.png")
    assert not paths.sampled_dir("synthia").exists()


def test_embedded_synthia_is_native_and_its_own_style(tmp_path):
    synthia.write_tree(tmp_path / "s", n=4, seed=0, scale=0.1)
    label = cv2.imread(str(tmp_path / "s" / "GT" / "LABELS" / "0000001.png"), cv2.IMREAD_UNCHANGED)
    image = np.asarray(Image.open(tmp_path / "s" / "RGB" / "0000001.png"))
    assert label.dtype == np.uint16 and label.shape == image.shape and image.shape[:2] == (76, 128)  # 1280:760
    assert set(np.unique(label[..., 2])) <= set(synthia.SYNTHIA_IDS) and label[..., 1].max() > 0  # instances
    render, ids = synthetic.scene(0, "synthia", 1, 128, 76, "render", view=synthia.VIEW)
    np.testing.assert_array_equal(image, render)  # SYNTHIA's viewpoints and rendering ...
    car_view, _ = synthetic.scene(0, "synthia", 1, 128, 76, "render")
    real, _ = synthetic.scene(0, "synthia", 1, 128, 76, "real", view=synthia.VIEW)
    assert np.abs(image.astype(float) - car_view.astype(float)).mean() > 10  # ... not a car's camera
    assert np.abs(image.astype(float) - real.astype(float)).mean() > 20  # ... nor the Cityscapes-like style
    assert synthia.VIEW.height[1] > 2 * synthetic.CAR.height[1] and synthia.VIEW.horizon[0] < synthetic.CAR.horizon[0]
    # Written as SYNTHIA ids and read back: each Cityscapes class SYNTHIA scores keeps its train id, the rest 255.
    decoded, _, _ = synthia.decode_label(cv2.imencode(".png", label)[1].tobytes(), "x")
    name_of = {lab.id: lab.name for lab in labels.LABELS}
    want = np.vectorize(lambda i: labels.TRAIN_ID[name_of[i]] if name_of[i] in synthia.CLASSES_16 else 255)(ids)
    np.testing.assert_array_equal(decoded, want)


def test_fog_follows_the_transmittance_of_distance():
    image = np.full((1, 4, 3), 100, dtype=np.uint8)
    depth = np.array([[0.0, 50.0, 150.0, np.inf]], dtype=np.float32)
    foggy = synthetic.add_fog(image, depth, beta=0.02, airlight=0.8)[0, :, 0] / 255.0
    t = np.exp(-0.02 * depth[0])
    np.testing.assert_allclose(foggy, 100 / 255 * t + 0.8 * (1 - t), atol=0.5 / 255)
    assert foggy[-1] == pytest.approx(0.8, abs=0.5 / 255)  # the sky is the atmospheric light


@pytest.mark.parametrize("view", [synthetic.CAR, synthia.VIEW])
def test_scene_distance_is_the_camera_geometry(view):
    """Where a facade, wall, fence or person stands on the road or sidewalk, its distance equals the
    ground's in the row below (the ground plane from the camera's height, a facade or wall from its
    plane, a person from its position); the road nears row by row; the sky is infinitely far."""
    ratios: dict[str, list[float]] = {}
    for index in range(6):
        _, ids, dist = synthetic.scene(0, "cityscapes", index, 512, 256, "real", view=view, distance=True)
        assert np.isinf(dist[ids == labels.LABEL_ID["sky"]]).all()
        finite = dist[np.isfinite(dist)]
        assert 0.5 <= finite.min() and finite.max() <= 1.5 * synthetic.FAR
        road = ids == labels.LABEL_ID["road"]
        centre = slice(256 - 64, 256 + 64)  # near the optical axis (the ego bonnet covers the bottom rows' centre)
        rows = [dist[r, centre][road[r, centre]].min() for r in range(200) if road[r, centre].sum() > 3]
        assert len(rows) > 20 and all(a > b for a, b in zip(rows, rows[1:]))
        ground = np.isin(ids, [labels.LABEL_ID[c] for c in ("road", "sidewalk")])
        for name in ("building", "wall", "fence", "person"):
            ys, xs = np.nonzero((ids[:-1] == labels.LABEL_ID[name]) & ground[1:])
            near = dist[ys + 1, xs] < 30  # where one row spans little distance
            ratios.setdefault(name, []).extend((dist[ys, xs] / dist[ys + 1, xs])[near])
    medians = {name: float(np.median(r)) for name, r in ratios.items() if len(r) >= 10}
    assert "person" in medians and len(medians) >= 2 and all(0.9 < m < 1.1 for m in medians.values()), medians


def test_foggy_frames_are_the_cityscapes_scenes_fogged(tmp_path):
    foggy_cityscapes.write_tree(tmp_path / "f", n=3, seed=0, scale=0.05)
    cityscapes.write_tree(tmp_path / "c", n=3, seed=0, scale=0.05)
    split_, city, stem = cityscapes.frame_name(2)
    clear = np.asarray(Image.open(tmp_path / "c" / "leftImg8bit" / split_ / city / f"{stem}_leftImg8bit.png"))
    _, _, distance = synthetic.scene(0, "cityscapes", 2, clear.shape[1], clear.shape[0], "real", distance=True)
    for beta in foggy_cityscapes.BETAS:
        foggy = np.asarray(Image.open(tmp_path / "f" / "leftImg8bit_foggy" / split_ / city /
                                      f"{stem}_leftImg8bit_foggy_beta_{beta}.png"))
        np.testing.assert_array_equal(foggy, synthetic.add_fog(clear, distance, beta, foggy_cityscapes.AIRLIGHT))
    label = f"gtFine/{split_}/{city}/{stem}_gtFine_labelIds.png"
    assert (tmp_path / "f" / label).read_bytes() == (tmp_path / "c" / label).read_bytes()


def test_foggy_fetch_pairs_the_configured_beta_with_each_label(params, tmp_path):
    foggy_cityscapes.write_tree(tmp_path / "f", n=30, seed=1, scale=0.05)
    for beta in (0.01, 0.02):
        fetch("foggy_cityscapes", with_source(params, "foggy_cityscapes", source="local", local_path=str(tmp_path / "f"),
                                              beta=beta))
        manifest = pd.read_csv(paths.sampled_dir("foggy_cityscapes") / paths.MANIFEST, dtype={"id": str})
        for row in manifest.itertuples():
            assert row.image_source.endswith(f"/{row.id}_leftImg8bit_foggy_beta_{beta}.png"), row.image_source
            assert row.label_source.endswith(f"/{row.id}_gtFine_labelIds.png"), row.label_source
            image = (paths.sampled_dir("foggy_cityscapes") / "images" / f"{row.id}.png").read_bytes()
            assert image == open(row.image_source, "rb").read()  # a local tree's origin is the file's path


def test_a_foggy_frame_without_its_label_names_the_frame(tmp_path):
    foggy_cityscapes.write_tree(tmp_path / "f", n=6, seed=1, scale=0.05)
    victim = sorted((tmp_path / "f" / "gtFine").rglob("*_gtFine_labelIds.png"))[2]
    victim.unlink()
    stem = victim.name.replace("_gtFine_labelIds.png", "")
    with pytest.raises(DatasetError, match=rf"{stem}_leftImg8bit_foggy_beta_0\.02\.png: a foggy frame without its label"):
        foggy_cityscapes.find_pairs(open_tree(tmp_path / "f"), 0.02)
    with pytest.raises(DatasetError, match=r"no Foggy Cityscapes frames of beta 0\.02 \(found beta 0\.01\)"):
        for f in (tmp_path / "f" / "leftImg8bit_foggy").rglob("*.png"):
            if "beta_0.01" not in f.name:
                f.unlink()
        foggy_cityscapes.find_pairs(open_tree(tmp_path / "f"), 0.02)


def test_foggy_cityscapes_is_sampled_and_split_as_cityscapes(params):
    """The same frames: a foggy test frame is the fogged copy of a Cityscapes test frame, never of a
    Cityscapes training frame."""
    parts = {}
    for name in ("cityscapes", "foggy_cityscapes"):
        fetch(name, params)
        unify_labels(name, params)
        split(name, params)
        parts[name] = {s: list(pd.read_csv(paths.splits_dir(name) / f"{s}.csv", dtype={"id": str}).id) for s in paths.SPLITS}
    assert parts["foggy_cityscapes"] == parts["cityscapes"]
    for s in paths.SPLITS:
        for i in parts["cityscapes"][s][:2]:
            assert (paths.unified_dir("foggy_cityscapes") / "labels" / f"{i}.png").read_bytes() == \
                   (paths.unified_dir("cityscapes") / "labels" / f"{i}.png").read_bytes()


def test_every_domain_module_is_complete():
    """Each registered domain declares what the pipeline reads of it, and its streams stay apart from
    every other's unless it holds the same frames (Foggy Cityscapes: Cityscapes')."""
    found = domains.registry()
    assert set(found) == set(domains.available()) >= {"cityscapes", "gta5", "synthia", "foggy_cityscapes"}
    for name, cls in found.items():
        assert cls.name == name and cls.display_name and len(cls.native_size) == 2
        assert cls.find_pairs is not domains.base.Domain.find_pairs and cls.write_synthetic is not domains.base.Domain.write_synthetic
        for subset in cls.class_subsets.values():
            assert set(subset) <= set(labels.CLASSES)
    streams = {name: cls.stream for name, cls in found.items()}
    assert streams["foggy_cityscapes"] == streams["cityscapes"]
    others = [s for n, s in streams.items() if n != "foggy_cityscapes"]
    assert len(set(others)) == len(others)


def test_domain_gap_script_tables_every_listed_domain(params, tmp_path):
    """scripts/domain_gap.py (docs/data.md's domain-gap table): one row and one column per listed domain,
    the in-domain score in bold, and the command that wrote it."""
    import subprocess
    import sys

    from tests.conftest import REPO
    for name in ("cityscapes", "synthia"):
        fetch(name, params)
        unify_labels(name, params)
        split(name, params)
    out = tmp_path / "gap.md"
    subprocess.run([sys.executable, str(REPO / "scripts" / "domain_gap.py"), "--domains", "cityscapes", "synthia",
                    "--steps", "2", "--downscale", "16", "--threads", "1", "--markdown", str(out)], check=True,
                   capture_output=True)
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ")]
    assert rows[0] == "| trained on | test Cityscapes | test SYNTHIA |"
    assert rows[1].startswith("| Cityscapes | **") and rows[2].startswith("| SYNTHIA | ") and rows[2].endswith("** |")
    assert "Command: `python scripts/domain_gap.py --domains cityscapes synthia --steps 2" in out.read_text()
