#!/usr/bin/env bash
# The main job on the shipped defaults: on LFW with the shipped MobileFaceNet and YuNet,
# detect, align and run the full LFW verification protocol (insightface 10-fold) at
# 112/56/28/14/7 px and at four face-alignment-error levels (at 112, 28 and 14 px).
# Writes out/lfw_report.{html,json} and prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
export LQFACE_SHARED="${LQFACE_SHARED:-$(cd .. && pwd)/shared}"
scripts/build.sh
mkdir -p out
LFW=$LQFACE_SHARED/data/lfw
time build/lqface eval verify --pairs "$LFW/pairs.txt" --root "$LFW/lfw-deepfunneled" \
  --resolution 112,56,28,14,7 --fae 1,2,3,4 --fae-resolution 112,28,14 \
  --title "LFW verification: resolution and face-alignment error (MobileFaceNet, YuNet)" \
  --json out/lfw_report.json --html out/lfw_report.html --progress "$@"
