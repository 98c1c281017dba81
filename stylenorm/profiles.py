"""Profiles: partial params overlays in ``profiles/<name>.yaml``.

``python -m stylenorm.profiles tiny`` rewrites params.yaml with the overlay's values,
keeping params.yaml's comments. Every key in an overlay must already exist in
params.yaml, so a profile can never introduce a key the stages would reject.
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

import yaml
from ruamel.yaml import YAML

from stylenorm.components import load_params
from stylenorm.config import PARAMS_PATH, ConfigError

PROFILES_DIR = Path("profiles")


def overlay(base: dict, patch: dict, where: str = "") -> None:
    """Write ``patch``'s leaves into ``base`` in place; unknown keys are an error."""
    for key, value in patch.items():
        dotted = f"{where}.{key}" if where else key
        if key not in base:
            raise ConfigError(f"profile sets unknown key {dotted}")
        if isinstance(value, dict):
            if not isinstance(base[key], dict):
                raise ConfigError(f"profile sets {dotted} as a section, params.yaml has a value")
            overlay(base[key], value, dotted)
        else:
            base[key] = value


def apply_profile(name: str, params_path: Path = PARAMS_PATH, profiles_dir: Path = PROFILES_DIR) -> None:
    profile_path = Path(profiles_dir) / f"{name}.yaml"
    if not profile_path.exists():
        known = sorted(p.stem for p in Path(profiles_dir).glob("*.yaml"))
        raise ConfigError(f"{profile_path}: no such profile (known: {', '.join(known)})")
    patch = yaml.safe_load(profile_path.read_text()) or {}
    rt = YAML()
    rt.preserve_quotes = True
    params = rt.load(Path(params_path).read_text())
    try:
        overlay(params, patch)
    except ConfigError as err:
        raise ConfigError(f"{profile_path}: {err}") from None
    buf = io.StringIO()
    rt.dump(params, buf)
    tmp = Path(params_path).with_suffix(".tmp")
    tmp.write_text(buf.getvalue())
    try:
        load_params(tmp)  # validate before replacing
    except ConfigError:
        tmp.unlink()
        raise
    tmp.replace(params_path)


def main() -> None:
    parser = argparse.ArgumentParser(description="Apply a params profile to params.yaml.")
    parser.add_argument("name", help="profile name: a file profiles/<name>.yaml")
    args = parser.parse_args()
    apply_profile(args.name)
    print(f"params.yaml now follows profiles/{args.name}.yaml")


if __name__ == "__main__":
    main()
