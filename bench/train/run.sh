#!/bin/bash
# bench/train/run.sh — training throughput (forward + backward + update, batch 64, 2 threads,
# ArcFace head over 1,000 classes) of IResNet-18, IResNet-50 and MobileFaceNet: lqface
# (`lqface train --bench`) and PyTorch (bench/train/peer_pytorch.py, same architectures from
# tools/ref_backbone.py) in the same run, alternating, with peak RSS; writes
# bench/results/train-<date>.md. Run when the machine is quiet (the load is recorded).
#   bench/train/run.sh [BUILD_DIR] [STEPS]      (default build, 3 timed steps after a warm-up)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
STEPS=${2:-3}
BIN=$BUILD/lqface
PY=/usr/bin/python3
OUT=$ROOT/bench/results/train-$(date -u +%Y-%m-%d).md
export OMP_NUM_THREADS=2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rows=()
for arch in iresnet18 iresnet50 mobilefacenet; do
    l=$("$BIN" train --arch "$arch" --batch 64 --classes 1000 --threads 2 --head arcface --lr 0.01 --bench "$STEPS")
    p=$("$PY" "$ROOT/bench/train/peer_pytorch.py" "$arch" 64 "$STEPS" 2 1000)
    echo "lqface  $l"
    echo "pytorch $p"
    get() { echo "$1" | sed -n "s/.*\"$2\": *\([0-9.]*\).*/\1/p"; }
    rows+=("| $arch | $(get "$l" img_per_s) | $(get "$p" img_per_s) | $(get "$l" best_step_s) | $(get "$p" best_step_s) | $(get "$l" peak_rss_mb) | $(get "$p" peak_rss_mb) |")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
    echo "# Training throughput — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Forward + backward + SGD update of backbone and ArcFace head (1,000 classes), batch 64,"
    echo "112x112 input, 2 threads, $STEPS timed steps after one warm-up step (bench/train/run.sh)."
    echo "lqface: \`lqface train --bench\`; PyTorch $($PY -c 'import torch; print(torch.__version__)') (Debian) with"
    echo "torch.set_num_threads(2), same module code (tools/ref_backbone.py). Peak RSS of each process."
    echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores visible."
    echo "Load average (1/5/15 min) before: $load_before; after: $load_after (shared machine)."
    echo
    echo "| network | lqface img/s | PyTorch img/s | lqface best step (s) | PyTorch best step (s) | lqface peak RSS (MB) | PyTorch peak RSS (MB) |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} >"$OUT"
cat "$OUT"
