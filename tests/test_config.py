"""params.yaml is strict: unknown keys, wrong types and bad choices fail with the key's name."""
from __future__ import annotations

import pytest
import yaml

from stylenorm.config import ConfigError, load_params
from stylenorm.profiles import apply_profile
from tests.conftest import REPO


def edited(tmp_path, edit):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    edit(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_repository_params_load():
    params = load_params(REPO / "params.yaml")
    assert params.data.n_per_domain == 987 and params.split.test_fraction == 0.2


@pytest.mark.parametrize("edit, message", [
    (lambda r: r["split"].update(test_fracton=0.3), r"unknown key\(s\) split\.test_fracton"),
    (lambda r: r["data"]["synthetic"].update(scale="big"), r"data\.synthetic\.scale: expected a number"),
    (lambda r: r["base"].update(seed=1.5), r"base\.seed: expected an integer"),
    (lambda r: r["unify_labels"].update(size_mismatch="stretch"),
     r"unify_labels\.size_mismatch: 'stretch' is not one of \[resize_label \| crop \| drop\]"),
    (lambda r: r["data"]["gta5"].update(source="ftp"), r"data\.gta5\.source"),
    (lambda r: r["split"].pop("test_fraction"), r"missing key split\.test_fraction"),
    (lambda r: r["split"].update(test_fraction=1.0), r"split\.test_fraction: must be in \(0, 1\)"),
    (lambda r: r["data"]["cityscapes"].update(source="local"), r"data\.cityscapes\.local_path: required"),
])
def test_bad_values_fail_loudly(tmp_path, edit, message):
    with pytest.raises(ConfigError, match=message):
        load_params(edited(tmp_path, edit))


def test_profile_keeps_comments_and_rejects_unknown_keys(tmp_path):
    params_path = tmp_path / "params.yaml"
    params_path.write_text((REPO / "params.yaml").read_text())
    apply_profile("tiny", params_path, REPO / "profiles")
    text = params_path.read_text()
    assert "# pairs sampled per domain" in text
    assert load_params(params_path).data.n_per_domain == 12
    (tmp_path / "bad.yaml").write_text("split:\n  test_share: 0.1\n")
    with pytest.raises(ConfigError, match=r"unknown key split\.test_share"):
        apply_profile("bad", params_path, tmp_path)
