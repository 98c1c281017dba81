#!/usr/bin/env bash
# Rewrite requirements.lock from the current .venv (after adding or upgrading a package there).
set -euo pipefail
cd "$(dirname "$0")/.."
{
    echo "# Exact versions this project is tested with: the bootstrap environment, frozen by scripts/lock.sh."
    echo "# mmcv is compiled from source against the torch below by scripts/bootstrap.sh."
    .venv/bin/python -m pip freeze --all --exclude-editable | sed 's/^mmcv @ .*/mmcv==2.1.0/'
} > requirements.lock
echo "requirements.lock: $(grep -c '==' requirements.lock) pins"
