#!/usr/bin/env bash
# A/B speed check of two versions of lqface in one session. Builds OLD_REF and NEW_REF
# (Release, the lqface tool only) in temporary trees under /tmp/lqf-ab-*, then runs both
# binaries interleaved, ROUNDS rounds (the order alternates each round), each round measuring:
#   embed b1 / b32   `lqface bench --what embed` on MobileFaceNet (mobilefacenet_fr512.onnx)
#   detect           `lqface bench --what detect` with YuNet-640 on 50 LFW photos
#   train step       `lqface train --bench` of MobileFaceNet, batch 32, ArcFace over 1,000 classes
# with THREADS threads, and prints a markdown table: medians over rounds, the new/old ratio of
# the medians and the median of the per-round ratios (the two runs of a round are adjacent in
# time, so a load that drifts cancels out), the process CPU time per unit of work (images,
# photos; warm-up and loading included, so only the old/new comparison means something; it
# is less sensitive than wall time to other processes) and peak RSS.
# Usage: bench/ab.sh [OLD_REF] [NEW_REF]
#   OLD_REF  default: the merge-base of HEAD and main
#   NEW_REF  default: the working tree ("." : tracked and untracked, not ignored, files)
# Environment: ROUNDS (5), THREADS (2), SECS (5, seconds per inference measurement), STEPS (3,
# timed training steps after a warm-up), LQFACE_SHARED (../shared), KEEP=1 keeps the trees,
# REUSE=DIR runs the builds a KEEP=1 run left in DIR (same refs) instead of building.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OLD_REF=${1:-$(git merge-base HEAD main)}
NEW_REF=${2:-.}
ROUNDS=${ROUNDS:-5}; THREADS=${THREADS:-2}; SECS=${SECS:-5}; STEPS=${STEPS:-3}
SHARED=${LQFACE_SHARED:-$(cd .. && pwd)/shared}
export LQFACE_SHARED=$SHARED OMP_NUM_THREADS=$THREADS
MFN=$SHARED/models/mobilefacenet_fr512.onnx
YUNET=$SHARED/models/yunet_n_640_640.onnx
if [ -n "${REUSE:-}" ]; then TMP=$REUSE; KEEP=1; else TMP=$(mktemp -d /tmp/lqf-ab-XXXXXX); fi
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT

# ---- the two trees and their builds
describe() { if [ "$1" = . ]; then echo "working tree on $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' + changes')"; else echo "$(git rev-parse --short "$1") ($(git log -1 --format=%s "$1" | cut -c1-60))"; fi; }
export_tree() { # REF DIR
  mkdir -p "$2"
  if [ "$1" = . ]; then
    git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
      tar --null -T - -cf - | tar -xf - -C "$2"
  else
    git archive "$1" | tar -xf - -C "$2"
  fi
}
for who in old new; do
  ref=$OLD_REF; [ $who = new ] && ref=$NEW_REF
  [ -x "$TMP/$who/build/lqface" ] && [ -n "${REUSE:-}" ] && continue
  export_tree "$ref" "$TMP/$who"
  echo "building $who ($(describe "$ref")) in $TMP/$who ..." >&2
  (cd "$TMP/$who" && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLQFACE_SHARED="$SHARED" > build.log 2>&1 &&
     cmake --build build -j2 --target lqface >> build.log 2>&1) || { tail -20 "$TMP/$who/build.log" >&2; exit 1; }
done
PHOTOS=$TMP/photos; rm -rf "$PHOTOS"; mkdir -p "$PHOTOS"
ls "$SHARED/data/lfw/lfw-deepfunneled" | awk 'NR % 100 == 1' | head -50 | while read -r d; do
  f=$(ls "$SHARED/data/lfw/lfw-deepfunneled/$d" | head -1); cp "$SHARED/data/lfw/lfw-deepfunneled/$d/$f" "$PHOTOS/"; done

# ---- interleaved rounds: one JSON line per measurement, prefixed "who bench round"
out=$TMP/results.txt; rm -f "$out"
run() { # who bench
  local bin=$TMP/$1/build/lqface
  case $2 in
    embed1) "$bin" bench --what embed -m "$MFN" --batch 1 --threads "$THREADS" --seconds "$SECS" ;;
    embed32) "$bin" bench --what embed -m "$MFN" --batch 32 --threads "$THREADS" --seconds "$SECS" ;;
    detect) "$bin" bench --what detect -d "$YUNET" --photos "$PHOTOS" --n-photos 50 --threads "$THREADS" --seconds "$SECS" ;;
    train) "$bin" train --arch mobilefacenet --batch 32 --classes 1000 --threads "$THREADS" --head arcface --lr 0.01 --bench "$STEPS" ;;
  esac
}
export -f run
export TMP MFN YUNET PHOTOS THREADS SECS STEPS
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
  order="old new"; [ $((r % 2)) = 0 ] && order="new old"
  for b in embed1 embed32 detect train; do
    for who in $order; do
      echo "round $r/$ROUNDS: $who $b" >&2
      line=$(/usr/bin/time -f '%U %S' -o "$TMP/cpu" bash -c "run $who $b" | tail -1)
      echo "$who $b $r $(awk '{print $1 + $2}' "$TMP/cpu") $line" >> "$out"
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table
/usr/bin/python3 - "$out" "$(describe "$OLD_REF")" "$(describe "$NEW_REF")" "$ROUNDS" "$THREADS" "$load_before" "$load_after" <<'PY'
import json, statistics, subprocess, sys
path, old, new, rounds, threads, lb, la = sys.argv[1:]
rows = {}
for line in open(path):
    who, bench, r, cpu, js = line.split(" ", 4)
    d = json.loads(js)
    d["cpu_s"] = float(cpu)
    rows.setdefault((bench, who), []).append(d)
cpu = subprocess.run("lscpu | sed -n 's/^Model name: *//p'", shell=True, capture_output=True, text=True).stdout.strip()
print(f"# A/B: old {old} vs new {new}\n")
print(f"{rounds} interleaved rounds (the order alternates), {threads} threads, {cpu}; load average "
      f"(1/5/15 min) before {lb}, after {la}. Throughput: median over rounds; new/old: ratio of the "
      f"medians; paired: median over rounds of the ratio of the round's two runs (above 1: new is "
      f"faster). CPU: process CPU seconds per unit of work, loading and warm-up included (old/new above "
      f"1: new uses less). RSS: the largest peak RSS over rounds.\n")
print("| benchmark | old | new | new/old | paired | old CPU ms | new CPU ms | CPU old/new | old RSS MB | new RSS MB |")
print("|---|---|---|---|---|---|---|---|---|---|")
what = [("embed1", "embedding b1 (MobileFaceNet img/s)", "images_per_s"),
        ("embed32", "embedding b32 (MobileFaceNet img/s)", "images_per_s"),
        ("detect", "detection (YuNet-640 photos/s)", "photos_per_s"),
        ("train", "training step (MobileFaceNet b32 img/s)", "img_per_s")]


def units(key, x):  # images or photos processed by the whole process, warm-up included
    if key.startswith("embed"):
        return (x["runs"] + 3) * x["batch"]
    if key == "detect":
        return x["runs"] + 3
    return (x["steps"] + 1) * x["batch"]


ratios, paired_all = [], []
for key, label, field in what:
    o, n = rows[(key, "old")], rows[(key, "new")]
    mo, mn = statistics.median(x[field] for x in o), statistics.median(x[field] for x in n)
    paired = statistics.median(b[field] / a[field] for a, b in zip(o, n))
    co = statistics.median(1e3 * x["cpu_s"] / units(key, x) for x in o)
    cn = statistics.median(1e3 * x["cpu_s"] / units(key, x) for x in n)
    ratios.append(mn / mo)
    paired_all.append(paired)
    ro, rn = max(x["peak_rss_mb"] for x in o), max(x["peak_rss_mb"] for x in n)
    print(f"| {label} | {mo:.2f} | {mn:.2f} | {mn / mo:.3f} | {paired:.3f} | {co:.2f} | {cn:.2f} | {co / cn:.3f} "
          f"| {ro:.1f} | {rn:.1f} |")
print(f"\nSmallest ratio of medians: {min(ratios):.3f}; smallest paired ratio: {min(paired_all):.3f} "
      f"(goal: every ratio >= 0.97).")
print("\nPer-round values (old / new):\n")
for key, label, field in what:
    o = [f"{x[field]:.2f}" for x in rows[(key, "old")]]
    n = [f"{x[field]:.2f}" for x in rows[(key, "new")]]
    print(f"- {label}: old {', '.join(o)}; new {', '.join(n)}")
print("\nRaw lines:\n```")
print(open(path).read().rstrip())
print("```")
PY
