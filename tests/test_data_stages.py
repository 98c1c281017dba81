"""fetch -> unify_labels -> split on the tiny profile, through the stage functions users run."""
from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from stages.fetch import fetch
from stages.split import split
from stages.unify_labels import unify_labels
from stylenorm import labels, paths
from stylenorm.datasets import DatasetError, open_tree
from stylenorm.domains import cityscapes, gta5
from stylenorm.sampling import candidate_order, write_sample


def with_source(params, domain, **kw):
    """``params`` with ``data.<domain>`` changed by ``kw``."""
    sections = {**params.data.domains, domain: {**params.data.domains[domain], **kw}}
    return dataclasses.replace(params, data=dataclasses.replace(params.data, domains=sections))


def test_pipeline_data_stages(params):
    for domain in ("cityscapes", "gta5"):
        report = fetch(domain, params)
        manifest = pd.read_csv(paths.sampled_dir(domain) / paths.MANIFEST, dtype={"id": str})
        assert report["sampled"] == len(manifest) == params.data.n_per_domain
        assert manifest.id.is_unique
        for row in manifest.itertuples():
            img = Image.open(paths.sampled_dir(domain) / "images" / f"{row.id}.png")
            assert img.size == (row.width, row.height)
        unify_labels(domain, params)
        index = pd.read_csv(paths.unified_dir(domain) / paths.INDEX, dtype={"id": str})
        for row in index.itertuples():
            lab = np.asarray(Image.open(paths.unified_dir(domain) / "labels" / f"{row.id}.png"))
            assert lab.shape == (row.height, row.width)
            assert set(np.unique(lab)) <= set(range(19)) | {255}
        sizes = split(domain, params)
        n = len(index)
        n_test, n_val = round(n * params.split.test_fraction), round(n * params.split.val_fraction)
        assert sizes == {"train": n - n_test - n_val, "val": n_val, "test": n_test}
        parts = {s: set(pd.read_csv(paths.splits_dir(domain) / f"{s}.csv", dtype={"id": str}).id) for s in sizes}
        assert not (parts["train"] & parts["val"] or parts["train"] & parts["test"] or parts["val"] & parts["test"])
        assert parts["train"] | parts["val"] | parts["test"] == set(index.id)
    manifest = pd.read_csv(paths.sampled_dir("gta5") / paths.MANIFEST, dtype={"id": str})
    assert manifest.image_source.str.startswith("synthetic:gta5/images/").all()  # no temporary paths: reproducible
    gta_report = pd.read_json(paths.fetch_report_path("gta5"), typ="series")
    assert gta_report.missing_ids > 0  # the tiny profile's quirk rate makes gaps certain


def test_sampling_is_deterministic_and_without_replacement(tmp_path):
    """The code fetch calls: candidate_order (seeded) then write_sample (the first n usable pairs)."""
    gta5.write_tree(tmp_path / "tree", n=30, seed=0, scale=0.03, missing_rate=0.1, mismatch_rate=0.0)
    tree = open_tree(tmp_path / "tree")
    inventory = gta5.find_pairs(tree)

    def sample(seed, name):
        manifest, _ = write_sample(candidate_order(inventory, 20, seed, gta5.Gta5.stream, "gta5"), 20, tree, tmp_path / name)
        return list(manifest.id)

    a, b, c = sample(3, "a"), sample(3, "b"), sample(4, "c")
    assert a == b and a != c and len(set(a)) == 20
    assert set(a) <= {p.id for p in inventory.pairs}
    assert sorted(p.name for p in (tmp_path / "a" / "images").glob("*.png")) == [f"{i}.png" for i in a]
    with pytest.raises(DatasetError, match="only"):
        candidate_order(inventory, len(inventory.pairs) + 1, seed=0, stream=gta5.Gta5.stream, domain="gta5")


def make_zips(tree_root: Path, out: Path, groups: dict[str, str]) -> None:
    """Zip each top-level folder of a native tree the way the original archives are laid out."""
    out.mkdir()
    for archive, top in groups.items():
        with zipfile.ZipFile(out / archive, "w") as zf:
            zf.writestr("README", "test archive")
            for f in sorted((tree_root / top).rglob("*.png")):
                zf.write(f, f.relative_to(tree_root).as_posix())


@pytest.mark.parametrize("domain, groups", [
    ("gta5", {"01_images.zip": "images", "01_labels.zip": "labels"}),
    ("cityscapes", {"leftImg8bit_trainvaltest.zip": "leftImg8bit", "gtFine_trainvaltest.zip": "gtFine"}),
])
def test_local_source_directory_and_zips_agree(params, tmp_path, domain, groups):
    native = tmp_path / "native"
    if domain == "gta5":
        gta5.write_tree(native, n=30, seed=1, scale=0.05, missing_rate=0.1, mismatch_rate=0.0)
    else:
        cityscapes.write_tree(native, n=30, seed=1, scale=0.05)
    make_zips(native, tmp_path / "zips", groups)
    fetch(domain, with_source(params, domain, source="local", local_path=str(native)))
    from_dir = pd.read_csv(paths.sampled_dir(domain) / paths.MANIFEST, dtype={"id": str})
    fetch(domain, with_source(params, domain, source="local", local_path=str(tmp_path / "zips")))
    from_zip = pd.read_csv(paths.sampled_dir(domain) / paths.MANIFEST, dtype={"id": str})
    assert list(from_dir.id) == list(from_zip.id)
    assert list(from_dir.image_sha256) == list(from_zip.image_sha256)
    assert from_zip.image_source.str.contains(".zip::").all()


def test_corrupt_image_fails_clearly_and_writes_nothing(params, tmp_path):
    native = tmp_path / "native"
    gta5.write_tree(native, n=30, seed=1, scale=0.05, missing_rate=0.0, mismatch_rate=0.0)
    for f in (native / "images").glob("*.png"):
        f.write_bytes(f.read_bytes()[:200])  # truncated
    with pytest.raises(DatasetError, match=r"images/\d{5}\.png: not a readable image"):
        fetch("gta5", with_source(params, "gta5", source="local", local_path=str(native)))
    assert not paths.sampled_dir("gta5").exists()
    assert not list(paths.sampled_dir("gta5").parent.glob(".*tmp"))
    assert not paths.fetch_report_path("gta5").exists()


def test_missing_label_fails_clearly_and_writes_nothing(params):
    fetch("gta5", params)
    victim = sorted((paths.sampled_dir("gta5") / "labels").glob("*.png"))[3]
    victim.unlink()
    with pytest.raises(DatasetError, match=rf"{victim.name}: missing label"):
        unify_labels("gta5", params)
    assert not paths.unified_dir("gta5").exists() and not paths.unify_report_path("gta5").exists()


def test_unknown_colour_fails_clearly_and_writes_nothing(params):
    fetch("cityscapes", params)
    victim = sorted((paths.sampled_dir("cityscapes") / "labels").glob("*.png"))[-1]
    colour_of = np.array([labels.COLOR_OF_ID[i] for i in range(labels.NUM_LABEL_IDS)], dtype=np.uint8)
    rgb = colour_of[np.asarray(Image.open(victim))]  # the same label, colour-coded
    rgb[0, 0] = (12, 34, 56)
    Image.fromarray(rgb).save(victim)
    with pytest.raises(DatasetError, match=rf"{victim.name}: colours outside the Cityscapes table: \[\(12, 34, 56\)\]"):
        unify_labels("cityscapes", params)
    assert not paths.unified_dir("cityscapes").exists()
    assert not list(paths.unified_dir("cityscapes").parent.glob(".*tmp"))
    ignoring = dataclasses.replace(params, unify_labels=dataclasses.replace(params.unify_labels, unknown_to_ignore=True))
    assert unify_labels("cityscapes", ignoring)["encodings"] == {"ids": params.data.n_per_domain - 1, "rgb": 1}


def test_unknown_labels_are_counted_and_errors_name_the_archive(params, tmp_path):
    """Label values outside the table: an error naming the archive member, or 255 with counts per value."""
    native = tmp_path / "native"
    gta5.write_tree(native, n=16, seed=1, scale=0.05, missing_rate=0.0, mismatch_rate=0.0)
    make_zips(native, tmp_path / "zips", {"01_images.zip": "images", "01_labels.zip": "labels"})
    params = dataclasses.replace(params, data=dataclasses.replace(params.data, n_per_domain=12))
    fetch("gta5", with_source(params, "gta5", source="local", local_path=str(tmp_path / "zips")))
    victims = sorted((paths.sampled_dir("gta5") / "labels").glob("*.png"))[:2]
    for victim, marks in zip(victims, ({40: 3}, {40: 1, 200: 2})):  # palette indices 40 and 200 are no label ids
        img = Image.open(victim)
        assert img.mode == "P"
        ids = np.array(img).reshape(-1)
        k = 0
        for value, count in marks.items():
            ids[k : k + count] = value
            k += count
        edited = Image.frombytes("P", img.size, ids.tobytes())
        edited.putpalette(img.getpalette())
        edited.save(victim)
    with pytest.raises(DatasetError, match=rf"01_labels\.zip::labels/{victims[0].stem}\.png, sampled as \S*"
                                           rf"{victims[0].name}: palette indices outside the Cityscapes table: \[40\]"):
        unify_labels("gta5", params)
    assert not paths.unified_dir("gta5").exists() and not paths.unify_report_path("gta5").exists()
    ignoring = dataclasses.replace(params, unify_labels=dataclasses.replace(params.unify_labels, unknown_to_ignore=True))
    report = unify_labels("gta5", ignoring)
    want = {"files": 2, "pixels": 6, "values": {"40": {"files": 2, "pixels": 4}, "200": {"files": 1, "pixels": 2}}}
    assert report["unknown_to_ignore"] == want
    assert json.loads(paths.unify_report_path("gta5").read_text())["unknown_to_ignore"] == want
    unified = np.asarray(Image.open(paths.unified_dir("gta5") / "labels" / victims[1].name)).reshape(-1)
    assert (unified[:3] == 255).all()


@pytest.mark.parametrize("policy, keeps_all", [("resize_label", True), ("crop", True), ("drop", False)])
def test_size_mismatch_policies(params, policy, keeps_all):
    fetch("gta5", params)
    manifest = pd.read_csv(paths.sampled_dir("gta5") / paths.MANIFEST)
    mismatched = int(((manifest.width != manifest.label_width) | (manifest.height != manifest.label_height)).sum())
    assert mismatched > 0  # the tiny profile's quirk rate
    p = dataclasses.replace(params, unify_labels=dataclasses.replace(params.unify_labels, size_mismatch=policy))
    report = unify_labels("gta5", p)
    assert report["size_mismatch"]["count"] == mismatched
    n = params.data.n_per_domain
    assert report["kept"] == (n if keeps_all else n - mismatched)
