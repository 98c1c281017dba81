#!/usr/bin/env bash
# Validation quality of candidate default segmenters against their schedule, on a GPU (issue 18): the
# cells of benchmarks/bench_seg_candidates.py with base.device cuda, on the embedded default's data,
# so that longer schedules, smaller batches, OHEM or larger scenes are seen before they are paid for in
# CPU time. Their times are the GPU's (and STREAMS cells share it at once), so only quality is read.
# Prepare as for scripts/gpu/check.sh (.gpu/wheels, .gpu/mmcv-torch<version>/, .gpu/commit), then there:
#
#   bash scripts/gpu/seg_sweep.sh [--deadline S] [--streams N] NAME ...   # NAME: bench_seg_candidates.py --list
#
# Writes $OUT/seg_gpu_<k>.json (one per stream; merge them into bench_seg_candidates.py --gpu-cache) and
# seg_sweep.log. Each cell runs in its stream's order until the deadline (default 560 s after the start); every
# step is cut at the deadline. Call it under an outer `timeout` some 40 s below the device call's limit: a call
# stopped by its limit brings back no file and no output (a sweep at 609f451 was lost so on an H200).
# Progress lines carry the seconds since the start, so a sweep cut short shows where its time went.
set -uo pipefail
cd "$(dirname "$0")/../.."
DEADLINE=560
STREAMS=3
while [ $# -gt 0 ]; do
    case $1 in
        --deadline) DEADLINE=$2; shift 2 ;;
        --streams) STREAMS=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "name at least one candidate (python benchmarks/bench_seg_candidates.py --list)" >&2; exit 2; }
case $DEADLINE in ''|*[!0-9]*) echo "--deadline takes whole seconds, not '$DEADLINE'" >&2; exit 2 ;; esac
case $STREAMS in ''|0|*[!0-9]*) echo "--streams takes a whole number >= 1, not '$STREAMS'" >&2; exit 2 ;; esac
SITE=${STYLENORM_GPU_SITE:-/tmp/stylenorm-site}  # where check.sh installs the carried wheels
OUT=${OUT:-$PWD/.gpu/out}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
exec > >(tee -a "$OUT/seg_sweep.log") 2>&1
OUT=$OUT bash scripts/gpu/check.sh --skip tests,bench --deadline 200 >/dev/null || { tail -20 "$OUT/gpu_check.log"; exit 1; }
echo "environment ready (${SECONDS} s)"; nvidia-smi --query-gpu=name,memory.used --format=csv,noheader
export PYTHONPATH=$SITE:$PWD PATH=/tmp/stylenorm-bin:$SITE/bin:$PATH PYTHONUNBUFFERED=1
python - <<'EOF2'
from pathlib import Path
from ruamel.yaml import YAML
yaml = YAML()
p = yaml.load(Path("params.yaml"))
p["base"].update(device="cuda", num_workers=4)
yaml.dump(p, Path("params.yaml"))
EOF2
pids=()  # a bare `wait` would also wait for the log's tee (bash waits for process substitutions too)
for d in cityscapes gta5; do
    timeout -k 5 $((DEADLINE - SECONDS)) bash -c "python -m stages.fetch $d && python -m stages.unify_labels $d \
        && python -m stages.split $d" > "$OUT/data_$d.log" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || { tail -n 5 "$OUT"/data_*.log; exit 1; }; done
timeout -k 5 $((DEADLINE - SECONDS)) python -m stages.normalize identity 0 gta5 > "$OUT/data_normalize.log" 2>&1 \
    || { tail "$OUT/data_normalize.log"; exit 1; }
echo "data ready (${SECONDS} s)"
[ $((DEADLINE - SECONDS)) -ge 60 ] || { echo "under a minute left before --deadline $DEADLINE: no candidate run"; exit 1; }
names=("$@")
pids=()
for k in $(seq 0 $((STREAMS - 1))); do
    only=()
    for i in "${!names[@]}"; do [ $((i % STREAMS)) -eq "$k" ] && only+=(--only "${names[$i]}"); done
    [ ${#only[@]} -gt 0 ] || continue
    timeout -k 5 $((DEADLINE - SECONDS)) python benchmarks/bench_seg_candidates.py --threads 4 "${only[@]}" \
        --gpu-cache "$OUT/seg_gpu_$k.json" > "$OUT/stream_$k.log" 2>&1 &
    pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done  # a stream stopped by the deadline or a failed cell
grep -h "val mIoU\|^| cached\|failed" "$OUT"/stream_*.log | sort -u
echo "done (${SECONDS} s), status $status"
exit $status
