"""params.yaml is strict: unknown keys, wrong types and bad choices fail with the key's name."""
from __future__ import annotations

import pytest
import yaml

from stylenorm.components import load_params
from stylenorm.config import ConfigError
from stylenorm.normalizers import available
from stylenorm.profiles import apply_profile
from tests.conftest import REPO


def edited(tmp_path, edit):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    edit(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_repository_params_load_with_every_normalizer_section():
    params = load_params(REPO / "params.yaml")
    assert params.data.n_per_domain == 987 and params.split.test_fraction == 0.2
    assert params.study.normalizers[0] == "identity" and params.study.seeds == (0, 1, 2)
    assert set(params.normalizers) == set(available())  # one section per normalizer module, each loads strictly
    for name in available():
        assert params.normalizer(name).name == name


@pytest.mark.parametrize("edit, message", [
    (lambda r: r["split"].update(test_fracton=0.3), r"unknown key\(s\) split\.test_fracton"),
    (lambda r: r["data"]["synthetic"].update(scale="big"), r"data\.synthetic\.scale: expected a number"),
    (lambda r: r["base"].update(data_seed=1.5), r"base\.data_seed: expected an integer"),
    (lambda r: r["unify_labels"].update(size_mismatch="stretch"),
     r"unify_labels\.size_mismatch: 'stretch' is not one of \[resize_label \| crop \| drop\]"),
    (lambda r: r["split"].pop("test_fraction"), r"missing key split\.test_fraction"),
    (lambda r: r["split"].update(test_fraction=1.0), r"split\.test_fraction: must be in \(0, 1\)"),
    (lambda r: r["split"].update(val_fraction=0.85), r"split\.val_fraction: must be in \(0, 1\) and leave training"),
    (lambda r: r.update(fdaa={"fit": {}, "apply": {}}), r"unknown key\(s\) fdaa"),
    (lambda r: r["study"].update(normalizers=["identity", "cyclegann"]), r"study\.normalizers\[1\]: 'cyclegann' has no params section"),
    (lambda r: r["study"].update(seeds=[0, 0]), r"study\.seeds: must be distinct"),
    (lambda r: r["study"].update(seeds="0,1"), r"study\.seeds: expected a list"),
    (lambda r: r["study"].update(fit_seeds=[0, 1]), r"study\.fit_seeds: must be one seed .* or the same list as study\.seeds"),
    (lambda r: r["study"].update(protocols=["mixed", "target_only"]), r"study\.protocols\[1\]: 'target_only' has no params section"),
    (lambda r: r["study"].update(protocols=[]), r"study\.protocols: must name at least one protocol"),
    (lambda r: r["study"].update(oracles=["synthia"]), r"study\.oracles: 'synthia' is not one of the grid's domains \[gta5 \| cityscapes\]"),
        (lambda r: r["study"].update(domains=["cityscapes", "synthia"]), r"study\.source: 'gta5' is not in study\.domains \[cityscapes \| synthia\]"),
        (lambda r: r["study"].update(target="gta5"), r"study\.target: must differ from study\.source \(both 'gta5'\)"),
        (lambda r: r["study"].update(source="synthia"), r"study\.source: 'synthia' is not in study\.domains"),
        (lambda r: r["study"].update(source="synthia", domains=["cityscapes", "gta5", "synthia"], oracles=["gta5"]),
         r"study\.oracles: 'gta5' is not one of the grid's domains \[synthia \| cityscapes\]"),
    (lambda r: r["study"].update(domains=["cityscapes", "gta5", "mars"]), r"study\.domains: 'mars' is no domain"),
    (lambda r: r["data"].pop("gta5"), r"data\.gta5: missing \(every domain in study\.domains needs its data section\)"),
    (lambda r: r["data"].update(sinthia={"source": "synthetic"}), r"unknown key\(s\) data\.sinthia"),
])
def test_bad_values_fail_loudly(tmp_path, edit, message):
    with pytest.raises(ConfigError, match=message):
        load_params(edited(tmp_path, edit))


@pytest.mark.parametrize("name, edit, message", [
    ("unit", lambda r: r["unit"]["apply"].update(align="warp"), r"unit\.apply\.align: 'warp' is not one of \[stretch \| pad\]"),
    ("unit", lambda r: r["unit"]["fit"]["gen"].update(dimm=3), r"unknown key\(s\) unit\.fit\.gen\.dimm"),
    ("unit", lambda r: r["unit"].update(fitt={}), r"unit: a normalizer section has exactly two subsections, fit and apply"),
    ("unit", lambda r: r["unit"]["fit"].update(crop_size=256), r"unit\.fit\.crop_size: must be <= unit\.fit\.new_size"),
    ("identity", lambda r: r["identity"].update(apply={"x": 1}), r"unknown key\(s\) identity\.apply\.x"),
])
def test_bad_normalizer_values_fail_loudly_when_the_normalizer_is_used(tmp_path, name, edit, message):
    params = load_params(edited(tmp_path, edit))
    with pytest.raises(ConfigError, match=message):
        params.normalizer(name)


@pytest.mark.parametrize("name, edit, message", [
    ("gta5", lambda r: r["data"]["gta5"].update(source="ftp"), r"data\.gta5\.source: 'ftp' is not one of \[synthetic \| local \| download\]"),
    ("gta5", lambda r: r["data"]["gta5"].update(archives=11), r"data\.gta5\.archives: must be in \[1, 10\]"),
    ("cityscapes", lambda r: r["data"]["cityscapes"].update(source="local"), r"data\.cityscapes\.local_path: required when source is local"),
    ("synthia", lambda r: r["data"]["synthia"].update(base_url="x"), r"unknown key\(s\) data\.synthia\.base_url"),
    ("foggy_cityscapes", lambda r: r["data"]["foggy_cityscapes"].update(beta=0.03),
     r"data\.foggy_cityscapes\.beta: 0\.03 is not one of \[0\.005 \| 0\.01 \| 0\.02\]"),
])
def test_bad_domain_values_fail_loudly_when_the_domain_is_used(tmp_path, name, edit, message):
    """A domain's section is its module's to load (the data stages build the domain they run)."""
    from stylenorm import domains
    params = load_params(edited(tmp_path, edit))
    with pytest.raises(ConfigError, match=message):
        domains.get(name).from_params(params)


def test_profiles_keep_comments_and_reject_unknown_keys(tmp_path):
    params_path = tmp_path / "params.yaml"
    params_path.write_text((REPO / "params.yaml").read_text())
    apply_profile("tiny", params_path, REPO / "profiles")
    text = params_path.read_text()
    assert "# pairs sampled per domain" in text
    assert load_params(params_path).data.n_per_domain == 20
    for profile in sorted(p.stem for p in (REPO / "profiles").glob("*.yaml")):
        params_path.write_text((REPO / "params.yaml").read_text())
        apply_profile(profile, params_path, REPO / "profiles")
        params = load_params(params_path)
        for name in params.study.normalizers:
            params.normalizer(name)
    (tmp_path / "bad.yaml").write_text("split:\n  test_share: 0.1\n")
    with pytest.raises(ConfigError, match=r"unknown key split\.test_share"):
        apply_profile("bad", params_path, tmp_path)
