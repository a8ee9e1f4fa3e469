#!/bin/bash
# cli_ckpt_eval.sh — a training checkpoint is a model for the inference commands: `lqface
# embed -m RUN/ckpt.safetensors` and `lqface eval verify -m ...` rebuild the network from the
# config in the checkpoint's metadata, load its tensors and run it in eval mode
# (src/train/model.h; tests/test_model.c checks trained IResNets with BatchNorm and dropout).
#  1. The shipped MobileFaceNet fine-tuned for 1 step at lr 0 (so its weights stay the ONNX
#     file's) gives, through its checkpoint, the same embeddings as the ONNX file (max abs
#     difference <= 1e-6) on 6 LFW photos (detected and aligned by YuNet), and the same
#     verification result on 20 LFW pairs.
#  2. `lqface info` reads a checkpoint. A missing checkpoint and a checkpoint whose ONNX base network is gone are refused
#     naming the file.
set -u
BIN=${LQFACE_BIN:?}
SHARED=${LQFACE_SHARED:-../shared}
LFW=$SHARED/data/lfw/lfw-deepfunneled
MFN=$SHARED/models/mobilefacenet_fr512.onnx
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0 passes=0
check() { if [ "$2" -eq 0 ]; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }

# 20 LFW pairs (first 10 same, first 10 different of fold 1) and their photos
awk 'NR > 1 && NR <= 11 { printf "%s/%s_%04d.jpg %s/%s_%04d.jpg 1\n", $1, $1, $2, $1, $1, $3 }
     NR > 301 && NR <= 311 { printf "%s/%s_%04d.jpg %s/%s_%04d.jpg 0\n", $1, $1, $2, $3, $3, $4 }' \
    "$SHARED/data/lfw/pairs.txt" >"$TMP/pairs.txt"
awk '{ print $1 "\t" 0; print $2 "\t" 0 }' "$TMP/pairs.txt" | head -12 | sort -u >"$TMP/train.lst"
IMGS=$(head -3 "$TMP/pairs.txt" | awk -v r="$LFW" '{ print r "/" $1; print r "/" $2 }')

"$BIN" train --data "$TMP/train.lst" --data_root "$LFW" --init_onnx "$MFN" --input_std 128 --batch 4 \
    --threads 1 --classes 2 --optimizer adamw --lr 0 --weight_decay 0 --steps 1 --head arcface \
    --ckpt_dir "$TMP/run" >"$TMP/train.out" 2>&1
CK=$TMP/run/ckpt_step00000001.safetensors
[ -f "$CK" ]
check "lr-0 fine-tune step writes a checkpoint" $?
# shellcheck disable=SC2086
"$BIN" embed $IMGS -m "$MFN" -o "$TMP/onnx" >/dev/null 2>&1 &&
    "$BIN" embed $IMGS -m "$CK" -o "$TMP/ckpt" >/dev/null 2>&1
check "embed with the ONNX file and with the checkpoint" $?
d=$(od -An -v -f -w4 "$TMP/onnx.f32" | paste - <(od -An -v -f -w4 "$TMP/ckpt.f32") |
    awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d; n++ } END { if (n != 6 * 512) print "count " n; else printf "%.3g", m }')
echo "     max |ONNX - checkpoint| over 6 x 512 values: $d"
awk -v d="$d" 'BEGIN { exit !(d ~ /^[0-9.e+-]+$/ && d + 0 <= 1e-6) }'
check "checkpoint embeddings equal the ONNX model's" $?
"$BIN" eval verify --list "$TMP/pairs.txt" --root "$LFW" -m "$MFN" --json "$TMP/onnx.json" >/dev/null 2>&1 &&
    "$BIN" eval verify --list "$TMP/pairs.txt" --root "$LFW" -m "$CK" --json "$TMP/ckpt.json" >/dev/null 2>&1
check "eval verify runs with the checkpoint" $?
# (each condition's wall-clock "seconds" left out: under load it differs between two runs)
a=$(sed 's/.*"verification"//; s/"seconds":[0-9.]*//g' "$TMP/onnx.json")
b=$(sed 's/.*"verification"//; s/"seconds":[0-9.]*//g' "$TMP/ckpt.json")
echo "     ONNX $(echo "$a" | grep -o '"accuracy_mean":[^,]*'), checkpoint $(echo "$b" | grep -o '"accuracy_mean":[^,]*')"
[[ "$a" == *accuracy_mean* ]] && [ "$a" = "$b" ]
check "same verification results (accuracy, folds, thresholds, ROC)" $?

out=$("$BIN" info "$CK" 2>&1)
[[ "$out" == *"parameters:     1190336"* && "$out" == *"[Nx512]"* ]]
check "lqface info reads the checkpoint (1,190,336 parameters, 512-d output)" $?

out=$("$BIN" embed "$LFW/$(head -1 "$TMP/train.lst" | cut -f1)" -m "$TMP/none.safetensors" 2>&1)
[ $? -ne 0 ] && [[ "$out" == *"none.safetensors"* ]]
check "missing checkpoint refused naming it" $?
cp "$MFN" "$TMP/gone.onnx"
"$BIN" train --data "$TMP/train.lst" --data_root "$LFW" --init_onnx "$TMP/gone.onnx" --input_std 128 --batch 4 \
    --threads 1 --classes 2 --lr 0 --steps 1 --ckpt_dir "$TMP/run2" >/dev/null 2>&1
rm -f "$TMP/gone.onnx"
out=$("$BIN" embed "$LFW/$(head -1 "$TMP/train.lst" | cut -f1)" -m "$TMP/run2/ckpt_step00000001.safetensors" 2>&1)
rc=$?
echo "     base network gone: $out"
[ $rc -ne 0 ] && [[ "$out" == *"gone.onnx"* ]]
check "checkpoint whose ONNX base is gone refused naming it" $?

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
