#!/usr/bin/env bash
# The GPU check: the paper profile's steps and the GPU-only tests, in one go on a CUDA machine
# that has no network. Prepare here, run there:
#
#   bash scripts/gpu/wheels.sh                  # here: .gpu/wheels (what the device image lacks) + mmcv's source
#   git rev-parse HEAD > .gpu/commit            # here: the commit measured (the device gets no .git)
#   bash scripts/gpu/check.sh [--pairs N] [--skip tests,bench] [--tests K] [--deadline S]   # there, from the repo root
#   bash scripts/gpu/check.sh --e2e                                        # a second call: the tiny dvc repro
#
# Sections, each printing as it goes (a failed one is reported and the next still runs):
#   env    install .gpu/wheels into a private folder on PYTHONPATH; compile mmcv's CPU ops against the
#          machine's own torch with the GPUs hidden (DeepLabv3+, U-Net and the translators call no
#          mmcv CUDA op), or install a wheel an earlier run left in .gpu/ (copied to $OUT after a build)
#   data   (in the background, beside the tests) the paper profile in a scratch copy, on embedded
#          scenes at full size (scale 1.0), N pairs per domain (default 48)
#   tests  pytest -m gpu -k K (default: all but the e2e test): device placement, bf16 autocast against
#          fp32, SyncBN under DDP, translator fits and a segmenter resumed on the GPU
#   bench  benchmarks/bench_gpu.py in that copy: DeepLabv3+ R101-D8 steps (pipeline against MMSeg's stock
#          Runner, alternating, fp32 and bf16), UNIT and CycleGAN steps, evaluate at full resolution
#   e2e    (--e2e, alone: env and this) pytest -m gpu: the tiny profile's whole `dvc repro` on the GPU,
#          every cell's metrics; about 4.5 minutes on an H200 machine
# Everything lands in $OUT (default .gpu/out): gpu_check.log, gpu_check.json, gpu_check.md, data.log,
# pytest_gpu_{quick,e2e}.xml, and the mmcv wheel when one was built (mmcv-torch<version>/, to carry in .gpu/ next
# time). --skip bench skips the data too. Each part is cut to end by --deadline seconds after the start
# (default 560), and one with under a minute left is skipped. Exit status 1 when any part failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
ARGS="$*"
PAIRS=48
SKIP=""
DEADLINE=560  # seconds: the device tool stops a command at 600
TESTS="not tiny_repro"  # pytest -k expression of the tests run before the bench
E2E=0  # 1: the tiny profile's dvc repro alone (its own call: about 4.5 minutes there)
while [ $# -gt 0 ]; do
    case $1 in
        --pairs) PAIRS=$2; shift 2 ;;
        --deadline) DEADLINE=$2; shift 2 ;;
        --tests) TESTS=$2; shift 2 ;;
        --e2e) E2E=1; shift ;;
        --skip) SKIP=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
case $PAIRS in ''|*[!0-9]*) echo "--pairs takes a whole number, not '$PAIRS'" >&2; exit 2 ;; esac
case $DEADLINE in ''|*[!0-9]*) echo "--deadline takes whole seconds, not '$DEADLINE'" >&2; exit 2 ;; esac
for s in ${SKIP//,/ }; do
    case $s in tests|bench) ;; *) echo "--skip: unknown section '$s' [tests | bench]" >&2; exit 2 ;; esac
done
[ "$E2E" = 1 ] && SKIP=tests,bench
skipped() { [[ ",$SKIP," == *",$1,"* ]]; }

OUT=${OUT:-$REPO/.gpu/out}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)  # absolute: later parts run in other folders
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
PY=${PYTHON:-python3}
SITE=${STYLENORM_GPU_SITE:-/tmp/stylenorm-site}
COMMIT=$(cat .gpu/commit 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)
status=0
section() { echo; echo "=== $1  [$(date +%T), ${SECONDS} s in]"; }
failed() { local rc=$?; echo "FAILED ($( [ $rc -eq 124 ] && echo "stopped at the deadline" || echo "exit $rc")): $1"; status=1; }

section "env (commit $COMMIT)"
nvidia-smi -L || failed "nvidia-smi"
"$PY" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "CUDA", torch.version.cuda,
           torch.cuda.get_device_name() if torch.cuda.is_available() else "NO CUDA DEVICE")'
echo "$(nproc) CPU cores; $(free -g | awk '/Mem/ {print $2}') GiB"
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .gpu/wheels/*.whl \
    || failed "installing .gpu/wheels"
export PYTHONPATH=$SITE:$REPO PATH=$SITE/bin:$PATH DVC_NO_ANALYTICS=1 PYTHONUNBUFFERED=1
# `python` for the stages: a wrapper, not a link (a link to a virtual environment's interpreter loses its site-packages)
mkdir -p /tmp/stylenorm-bin && printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v "$PY")" > /tmp/stylenorm-bin/python \
    && chmod +x /tmp/stylenorm-bin/python && export PATH=/tmp/stylenorm-bin:$PATH
torch_version=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
wheel=$(ls .gpu/mmcv-torch"$torch_version"/mmcv-*.whl 2>/dev/null | head -1)
if [ -n "$wheel" ]; then  # built elsewhere against this torch version: use it if it loads
    "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" "$wheel" \
        && "$PY" -c 'import mmcv.ops' && echo "mmcv from $wheel" || { echo "$wheel does not load: compiling instead"; wheel=""; }
fi
if [ -z "$wheel" ]; then
    echo "compiling mmcv's CPU ops against torch $torch_version ($(nproc) jobs)"
    rm -rf /tmp/mmcv-wheel
    CUDA_VISIBLE_DEVICES="" MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=$(nproc) \
        "$PY" -m pip wheel -q --no-build-isolation --no-deps --no-index -w /tmp/mmcv-wheel .gpu/mmcv-*.tar.gz \
        || failed "building mmcv"
    built=$(ls /tmp/mmcv-wheel/mmcv-*.whl 2>/dev/null | head -1)
    if [ -n "$built" ]; then  # keep it for a next run (.gpu/mmcv-torch<version>/): it fits this torch only
        mkdir -p "$OUT/mmcv-torch$torch_version" && cp "$built" "$OUT/mmcv-torch$torch_version/"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" "$built"
    fi
fi
if ! "$PY" -c 'import mmcv.ops, mmseg, mmengine, dvc, dvclive, stylenorm.segmentation, stylenorm.normalizers.unit.model'; then
    failed "the environment does not import; nothing else can run"
    exit 1
fi
echo "environment ready (${SECONDS} s)"

PAPER=/tmp/stylenorm-paper
make_data() {  # the paper profile in a scratch copy, on embedded scenes at full size (CPU work: runs beside the tests)
    rm -rf "$PAPER" && mkdir -p "$PAPER" && cp -r dvc.yaml params.yaml stages stylenorm profiles configs "$PAPER"/ || return 1
    cd "$PAPER" || return 1
    "$PY" -m stylenorm.profiles paper && "$PY" - "$PAIRS" <<'EOF2' || return 1
import sys
from pathlib import Path
from ruamel.yaml import YAML
pairs = int(sys.argv[1])
yaml = YAML()
path = Path("params.yaml")
p = yaml.load(path)
for domain in ("cityscapes", "gta5"):
    p["data"][domain]["source"] = "synthetic"
p["data"]["n_per_domain"] = pairs
p["data"]["synthetic"].update(scale=1.0, pool_size=pairs + pairs // 10 + 4)
yaml.dump(p, path)
EOF2
    for d in cityscapes gta5; do
        "$PY" -m stages.fetch $d && "$PY" -m stages.unify_labels $d && "$PY" -m stages.split $d || return 1
    done
    "$PY" -m stages.normalize identity 0 gta5 || return 1  # the raw GTA5 images a mixed identity cell reads
    echo "data ready: $(find data/sampled -name '*.png' | wc -l) files, $SECONDS s after the check began"
}
if ! skipped bench; then
    section "data in the background (paper profile, embedded scenes at full size, $PAIRS pairs per domain; $OUT/data.log)"
    (make_data) > "$OUT/data.log" 2>&1 &
    data_pid=$!
fi

left() { echo $(( DEADLINE - SECONDS - 5 )); }  # seconds before the deadline
gpu_tests() {  # $1: pytest -k expression, $2: name of the report
    [ "$(left)" -ge 60 ] || { failed "no time left for pytest -k '$1'"; return; }
    timeout "$(left)" "$PY" -m pytest -m gpu tests/test_gpu.py -k "$1" \
        -p no:cacheprovider -q -rA -s --junitxml="$OUT/pytest_gpu_$2.xml" || failed "pytest -m gpu -k '$1'"
}
if ! skipped tests; then
    section "tests (pytest -m gpu), all but the end-to-end one"
    gpu_tests "$TESTS" quick
fi

if ! skipped bench; then
    section "bench (benchmarks/bench_gpu.py in the paper profile)"
    wait "$data_pid" || failed "data stages (tail of $OUT/data.log below)"
    tail -3 "$OUT/data.log"
    pairs=$("$PY" -c 'from stylenorm.config import load_params; print(load_params("params.yaml").data.n_per_domain)')
    if [ "$(left)" -lt 60 ]; then failed "no time left for the bench"; else
    (cd "$PAPER" && timeout "$(left)" "$PY" "$REPO/benchmarks/bench_gpu.py" --commit "$COMMIT" --pairs-per-domain "$pairs" \
        --label "bash scripts/gpu/check.sh $ARGS (benchmarks/bench_gpu.py, default settings)" \
        --json "$OUT/gpu_check.json" --write-md "$OUT/gpu_check.md") || failed "bench_gpu"
    fi
fi

if [ "$E2E" = 1 ]; then
    section "tests (pytest -m gpu): the tiny profile's dvc repro on the GPU"
    gpu_tests "tiny_repro" e2e
fi

section "done: status $status (${SECONDS} s)"
exit $status
