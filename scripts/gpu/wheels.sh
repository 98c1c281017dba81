#!/usr/bin/env bash
# Fill .gpu/ with what the GPU check (scripts/gpu/check.sh) installs on a machine without network:
# every package of requirements.lock that the device image lacks, at the lock's version, as
# CPython 3.12 manylinux wheels, plus mmcv's source (check.sh compiles it there against the
# device's own torch). Run it here, where PyPI is reachable; then carry .gpu to the device.
#
#   bash scripts/gpu/wheels.sh [--write-list]
#
# scripts/gpu/device_has.txt names the packages the device image already holds (torch, numpy,
# scipy, pandas, opencv-python-headless, ...): those are used as they are there, so the compiled
# stack stays the image's own. --write-list rewrites scripts/gpu/wheels.txt (file, bytes, sha256 of
# every file fetched), which tests/test_gpu.py reads to hold the carried set under the device
# tool's 64 MiB per call; without it the files are also checked against that list.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=.gpu
LIST=scripts/gpu/wheels.txt
# Never carried: the `typing` backport would shadow the standard library's module on PYTHONPATH;
# mmcv travels as source; opencv-python: the image has opencv-python-headless (same cv2).
NEVER='typing|mmcv|opencv-python'
# Needed on the device only to build mmcv there (its setup.py imports pkg_resources).
BUILD='setuptools|wheel'
PLATFORMS="--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux_2_24_x86_64"

norm() { tr 'A-Z_.' 'a-z--'; }
mkdir -p "$OUT/wheels"
rm -f "$OUT"/wheels/* "$OUT"/mmcv-*.tar.gz
norm < scripts/gpu/device_has.txt | sort -u > "$OUT/.has"
pins=$(grep -v '^#' requirements.lock | while IFS= read -r line; do
    name=${line%%==*}
    key=$(printf %s "$name" | norm)
    if printf %s "$key" | grep -qxE "$NEVER"; then continue; fi
    if printf %s "$key" | grep -qxE "$BUILD" || ! grep -qx "$key" "$OUT/.has"; then echo "$line"; fi
done)

export PIP_DISABLE_PIP_VERSION_CHECK=1
for pin in $pins; do
    # A wheel for CPython 3.12 on x86-64 Linux; a package that ships only a source archive is pure
    # Python here (antlr4-python3-runtime, ...), so the wheel built from it here serves there.
    if ! python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            $PLATFORMS -d "$OUT/wheels" "$pin" 2>/dev/null; then
        tmp=$(mktemp -d)
        python3 -m pip wheel -q --no-deps -w "$tmp" "$pin"
        built=$(ls "$tmp"/*.whl)
        case $built in
            *-none-any.whl) mv "$built" "$OUT/wheels/" ;;
            *) echo "$pin: no CPython 3.12 wheel on the index, and it does not build as pure Python ($built)" >&2; exit 1 ;;
        esac
        rm -rf "$tmp"
    fi
done
mmcv=$(grep '^mmcv==' requirements.lock)
# The source archive alone, from the index's page (pip's own download would first build metadata,
# which imports torch); its sha256 is checked against the one the index gives.
python3 - "${mmcv%%==*}" "${mmcv##*==}" "$OUT" <<'PY'
import hashlib, pathlib, re, sys, urllib.request
name, version, out = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
index = "https://pypi.org/simple"
page = urllib.request.urlopen(f"{index}/{name}/").read().decode()
url, digest = re.search(rf'href="([^"]*/{name}-{re.escape(version)}\.tar\.gz)#sha256=([0-9a-f]+)"', page).groups()
data = urllib.request.urlopen(url).read()
if hashlib.sha256(data).hexdigest() != digest:
    sys.exit(f"{url}: sha256 differs from the index's")
(out / url.rsplit("/", 1)[1]).write_bytes(data)
PY

listing=$(cd "$OUT" && for f in wheels/* mmcv-*.tar.gz; do
    printf '%s\t%s\t%s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"; done | sort)
if [ "${1:-}" = "--write-list" ]; then
    { echo "# Files scripts/gpu/wheels.sh fetches into .gpu/ (path, bytes, sha256); regenerate with --write-list."
      echo "$listing"; } > "$LIST"
    echo "wrote $LIST"
elif ! diff <(grep -v '^#' "$LIST") <(echo "$listing") >/dev/null; then
    echo "warning: .gpu/ differs from $LIST (a lock change?): rerun with --write-list and commit it" >&2
fi
total=$(du -cb "$OUT"/wheels/* "$OUT"/mmcv-*.tar.gz | tail -1 | cut -f1)
echo "$(ls "$OUT"/wheels | wc -l) wheels + mmcv source: $((total / 1024)) KiB in $OUT/"
