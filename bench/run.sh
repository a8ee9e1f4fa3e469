#!/usr/bin/env bash
# Inference benchmark: lqface against ONNX Runtime (npm onnxruntime-node) and OpenCV cv2.dnn
# (Debian python3-opencv) in the same session, same model, same batch, same threads.
# Writes bench/results/inference-<date>.md and prints it.
# Usage: bench/run.sh [THREADS=2] [SECONDS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-2}; S=${2:-5}
SHARED=${LQFACE_SHARED:-$(cd .. && pwd)/shared}
export LQFACE_SHARED=$SHARED OMP_NUM_THREADS=$T
scripts/install-deps.sh --tools > /dev/null
dpkg-query -W python3-onnx > /dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq python3-onnx; }
scripts/build.sh > /dev/null
TMP=$(mktemp -d)
MFN=$SHARED/models/mobilefacenet_fr512.onnx
YUNET=$SHARED/models/yunet_n_640_640.onnx
/usr/bin/python3 bench/make_batched_onnx.py "$MFN" "$TMP/mfn_dyn.onnx" > /dev/null
PHOTOS=$TMP/photos; mkdir -p "$PHOTOS"
ls "$SHARED/data/lfw/lfw-deepfunneled" | awk 'NR % 100 == 1' | head -50 | while read -r d; do
  f=$(ls "$SHARED/data/lfw/lfw-deepfunneled/$d" | head -1); cp "$SHARED/data/lfw/lfw-deepfunneled/$d/$f" "$PHOTOS/"; done
out=$TMP/results.jsonl
for B in 1 32; do
  build/lqface bench --what embed -m "$MFN" --batch $B --threads $T --seconds $S | sed "s/^/lqface $B /" >> "$out"
  node bench/peer_onnxruntime.js "$TMP/mfn_dyn.onnx" $B $T $S | sed "s/^/onnxruntime $B /" >> "$out"
  /usr/bin/python3 bench/peer_opencv.py "$TMP/mfn_dyn.onnx" $B $T $S | sed "s/^/opencv $B /" >> "$out"
done
build/lqface bench --what detect -d "$YUNET" --photos "$PHOTOS" --n-photos 50 --threads $T --seconds $S | sed "s/^/lqface-detect 1 /" >> "$out"
node bench/peer_onnxruntime.js "$YUNET" 1 $T $S 640x640 | sed "s/^/onnxruntime-yunet 1 /" >> "$out"
/usr/bin/python3 bench/peer_opencv.py "$YUNET" 1 $T $S 640x640 | sed "s/^/opencv-yunet 1 /" >> "$out"
mkdir -p bench/results
res=bench/results/inference-$(date -u +%Y-%m-%d).md
/usr/bin/python3 - "$out" "$T" > "$res" <<'PY'
import json, sys, platform, subprocess
rows = {}
for line in open(sys.argv[1]):
    who, b, js = line.split(" ", 2)
    rows[(who, int(b))] = json.loads(js)
cpu = subprocess.run("lscpu | sed -n 's/^Model name: *//p'", shell=True, capture_output=True, text=True).stdout.strip()
print(f"# Inference benchmark, {sys.argv[2]} threads, {cpu}\n")
print("MobileFaceNet (mobilefacenet_fr512.onnx, 112x112), images/s (median), peak RSS of the whole process:\n")
print("| batch | lqface img/s | ONNX Runtime img/s | OpenCV img/s | lqface / faster peer | lqface RSS MB | ORT RSS MB | OpenCV RSS MB |")
print("|---|---|---|---|---|---|---|---|")
for b in (1, 32):
    l, o, c = rows[("lqface", b)], rows[("onnxruntime", b)], rows[("opencv", b)]
    best = max(o["images_per_s"], c["images_per_s"])
    print(f"| {b} | {l['images_per_s']} | {o['images_per_s']} | {c['images_per_s']} | {l['images_per_s']/best:.2f}x | {l['peak_rss_mb']} | {o['peak_rss_mb']} | {c['peak_rss_mb']} |")
d, o, c = rows[("lqface-detect", 1)], rows[("onnxruntime-yunet", 1)], rows[("opencv-yunet", 1)]
print("\nYuNet-n 640x640 per photo. lqface: letterbox + network + decode + NMS on 50 LFW photos;")
print("peers: the network forward alone on a 640x640 tensor (their pre/post-processing not counted):\n")
print("| | photos/s | median ms | peak RSS MB |\n|---|---|---|---|")
print(f"| lqface (full detection) | {d['photos_per_s']} | {d['median_ms']} | {d['peak_rss_mb']} |")
print(f"| ONNX Runtime (network only) | {o['images_per_s']} | {o['median_ms']} | {o['peak_rss_mb']} |")
print(f"| OpenCV cv2.dnn (network only) | {c['images_per_s']} | {c['median_ms']} | {c['peak_rss_mb']} |")
print(f"\nlqface / faster peer (detection): {d['photos_per_s']/max(o['images_per_s'], c['images_per_s']):.2f}x")
print("\nRaw lines:\n```")
print(open(sys.argv[1]).read().rstrip())
print("```")
PY
cat "$res"
rm -rf "$TMP"
