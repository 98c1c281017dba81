#!/usr/bin/env bash
# Build (or refresh) the project's virtual environment in .venv; idempotent.
#
#   bash scripts/bootstrap.sh        # what `make env` runs; `make repro` and `make test` call it first
#
# Installs the exact set in requirements.lock: torch + torchvision from PyPI, mmcv 2.1.0
# compiled from source with its ops against that torch (the built wheel is cached under
# $STYLENORM_CACHE, keyed by mmcv + torch + Python + machine, so it is built once), the
# rest, and this project (editable). A second run with nothing changed takes a second.
#
# Environment: PYTHON (interpreter to build the venv from, default python3),
# STYLENORM_VENV (default .venv), STYLENORM_CACHE (default ~/.cache/stylenorm).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${STYLENORM_VENV:-.venv}
CACHE=${STYLENORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stylenorm}
LOCK=requirements.lock
MMCV_VERSION=$(sed -n 's/^mmcv==//p' "$LOCK")

say() { printf '[bootstrap] %s\n' "$*" >&2; }

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    say "no '$PYTHON' on PATH: install Python 3.10-3.12 or set PYTHON=/path/to/python3"; exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))'; then
    say "Python $("$PYTHON" -c 'import platform; print(platform.python_version())') is not supported:" \
        "this stack (torch 2.13, mmcv 2.1.0, mmseg 1.2.2) is tested on 3.10-3.12. Set PYTHON=python3.11."
    exit 1
fi

stamp="$VENV/.bootstrap-stamp"
want=$(cat "$LOCK" pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
    exit 0  # up to date
fi

# Machine-wide pip settings (find-links, extra indexes) can offer a CPU-only torch build
# ("2.13.0+cpu"), which pip prefers over PyPI's and against which PyPI's torchvision cannot
# load its ops. Use plain PyPI (or PIP_INDEX_URL, if set) for this environment.
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL
PIP="$VENV/bin/python -m pip"

[ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
rm -f "$stamp"
pin() { grep -E "^($1)==" "$LOCK"; }

say "installing build tools and torch from $LOCK"
$PIP install -q $(pin 'pip|setuptools|wheel')
$PIP install -q -c "$LOCK" $(pin 'torch|torchvision')

torch_version=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')
py_tag=$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
key="mmcv-$MMCV_VERSION-torch-$torch_version-$py_tag-$(uname -m)"
wheel_dir="$CACHE/wheels/$key"
if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
    say "building mmcv $MMCV_VERSION with ops against torch $torch_version (about 10 min on 2 cores; cached as $key)"
    tmp=$(mktemp -d)
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        $PIP wheel -q --no-build-isolation --no-deps --no-cache-dir "mmcv==$MMCV_VERSION" -w "$tmp"
    mkdir -p "$(dirname "$wheel_dir")"
    rm -rf "$wheel_dir.partial" && mv "$tmp" "$wheel_dir.partial" && mv "$wheel_dir.partial" "$wheel_dir"
fi
$PIP install -q --no-deps "$wheel_dir"/mmcv-*.whl

say "installing the locked set"
$PIP install -q -r "$LOCK"
$PIP install -q --no-deps --no-build-isolation -e .

"$VENV/bin/python" -c 'import torchvision.ops, mmcv.ops, mmseg, mmengine, dvc, stylenorm' \
    || { say "import check failed: the environment is broken; delete $VENV and run again"; exit 1; }
echo "$want" > "$stamp"
say "ready: $VENV (torch $torch_version, mmcv $MMCV_VERSION)"
