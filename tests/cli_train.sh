#!/bin/bash
# cli_train.sh — `lqface train` end to end on ORL with configs/orl_tiny.conf: images 1-7 of the
# 40 identities train a reduced IResNet-18 (CosFace, 20 epochs, ~5 s on one core), validation
# on 240 pairs of the held-out images 8-10 (120 same, 120 different identity). Checks: --help
# lists every key with its default, an unknown key and a missing config are refused, the run
# exits 0, the JSON-lines log ends with a summary whose last-epoch loss is < 1/3 of the
# first's and whose held-out verification accuracy is >= 85% (the run reaches ~92%; a random
# network ~70%, see docs/training.md), a resumed run continues from its checkpoint's step, an
# ARoFace run (mixed batch smaller than the batch) trains too, so do QGFace runs (quality gate,
# two views, contrastive queue; resume exact, Laplacian quality), the shipped MobileFaceNet (ONNX)
# fine-tunes and resumes, and lr = 1e30 stops with "NaN loss at step N" (exit 1) leaving its last checkpoint loadable.
set -u
BIN=${LQFACE_BIN:?}
SHARED=${LQFACE_SHARED:-../shared}
HERE=$(cd "$(dirname "$0")/.." && pwd)
CONF=$HERE/configs/orl_tiny.conf
ORL=$SHARED/data/orl/att_faces
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
check() { # check NAME CONDITION-RESULT
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
json_num() { # json_num FILE EVENT KEY: KEY's value in the last line of that event
    grep "\"event\":\"$2\"" "$1" | tail -1 | sed -n "s/.*\"$3\":\([-0-9.e+]*\).*/\1/p"
}

out=$("$BIN" train --help)
check "help exits 0" $?
[[ "$out" == *"--lr "*"[0.1]"* && "$out" == *"--resume"* && "$out" == *"--aro_preset"*"[reference]"* ]]
check "help lists keys with defaults" $?
out=$("$BIN" train --config "$CONF" --bogus 1 2>&1); rc=$?
echo "     unknown key: exit $rc: $out"
[ $rc -eq 2 ] && [[ "$out" == *"unknown key 'bogus'"* ]]
check "unknown key refused" $?
out=$("$BIN" train --config "$TMP/none.conf" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"none.conf"* ]]
check "missing config refused" $?

for s in $(seq 1 40); do for i in 1 2 3 4 5 6 7; do echo "s$s/$i.pgm $((s - 1))"; done; done >"$TMP/train.lst"
awk 'BEGIN { for (s = 1; s <= 40; s++) { t = s % 40 + 1; u = (s + 1) % 40 + 1;
  print "s"s"/8.pgm s"s"/9.pgm 1"; print "s"s"/8.pgm s"s"/10.pgm 1"; print "s"s"/9.pgm s"s"/10.pgm 1";
  print "s"s"/8.pgm s"t"/9.pgm 0"; print "s"s"/9.pgm s"t"/10.pgm 0"; print "s"s"/10.pgm s"u"/8.pgm 0" } }' >"$TMP/pairs.txt"
COMMON=(--config "$CONF" --data "$TMP/train.lst" --data_root "$ORL" --val_pairs "$TMP/pairs.txt" --val_root "$ORL")

"$BIN" train "${COMMON[@]}" --ckpt_dir "$TMP/run" --ckpt_every 170 >"$TMP/run.out" 2>&1
check "training run exits 0" $?
tail -3 "$TMP/run.out"
LOG=$TMP/run/train_log.jsonl
first=$(json_num "$LOG" summary first_epoch_loss)
last=$(json_num "$LOG" summary last_epoch_loss)
acc=$(json_num "$LOG" summary val_acc)
echo "     epoch loss $first -> $last, held-out verification accuracy $acc"
awk -v f="$first" -v l="$last" 'BEGIN { exit !(f > 0 && l > 0 && l < f / 3) }'
check "loss falls by more than 3x" $?
awk -v a="$acc" 'BEGIN { exit !(a >= 0.85) }'
check "held-out verification accuracy >= 85%" $?
[ "$(grep -c '"event":"epoch"' "$LOG")" -eq 20 ] && [ -f "$TMP/run/ckpt_step00000340.safetensors" ] &&
    [ -f "$TMP/run/ckpt_step00000170.safetensors" ]
check "20 epochs logged, checkpoints at 170 and 340" $?

out=$("$BIN" train "${COMMON[@]}" --resume "$TMP/run/ckpt_step00000170.safetensors" --ckpt_dir "$TMP/res" 2>&1)
check "resumed run exits 0" $?
[[ "$out" == *"340 steps (170 this run)"* ]]
check "resume continues at step 170" $?
accr=$(json_num "$TMP/res/train_log.jsonl" summary val_acc)
echo "     resumed run: held-out accuracy $accr (uninterrupted $acc)"

# ARoFace (fixed preset, 2 ascent steps, half the batch warped: 7 clean + 7 warped of 15, so
# the mixed batch runs on a second trainer of batch 14)
"$BIN" train "${COMMON[@]}" --aroface 1 --aro_preset fixed --aro_k 2 --aro_ratio 0.5 --batch 15 \
    --ckpt_dir "$TMP/aro" >"$TMP/aro.out" 2>&1
check "ARoFace run exits 0" $?
first=$(json_num "$TMP/aro/train_log.jsonl" summary first_epoch_loss)
last=$(json_num "$TMP/aro/train_log.jsonl" summary last_epoch_loss)
acc=$(json_num "$TMP/aro/train_log.jsonl" summary val_acc)
echo "     ARoFace: epoch loss $first -> $last, held-out verification accuracy $acc"
awk -v f="$first" -v l="$last" -v a="$acc" 'BEGIN { exit !(l < f / 2 && a >= 0.85) }'
check "ARoFace run: loss halves, held-out accuracy >= 85%" $?

# QGFace (docs/training.md): AdaFace head with the soft quality gate, HQ (flip) + LQ
# (qgface-lq: 0.1-0.5x rescale + JPEG 75) views, so 2 x 16 images a step, and the contrastive
# branch over a queue of earlier embeddings with the complementary hard gate. The run reaches
# ~96% held-out accuracy (random network ~70%); a resume from step 170 (queue and EMA
# restored) must end exactly as the uninterrupted run; the Laplacian-quality variant trains too.
QG=(--head adaface --qgface 1 --augment qgface-lq)
"$BIN" train "${COMMON[@]}" "${QG[@]}" --ckpt_dir "$TMP/qg" --ckpt_every 170 >"$TMP/qg.out" 2>&1
check "QGFace run exits 0" $?
first=$(json_num "$TMP/qg/train_log.jsonl" summary first_epoch_loss)
last=$(json_num "$TMP/qg/train_log.jsonl" summary last_epoch_loss)
acc=$(json_num "$TMP/qg/train_log.jsonl" summary val_acc)
echo "     QGFace: epoch loss $first -> $last, held-out verification accuracy $acc"
awk -v f="$first" -v l="$last" -v a="$acc" 'BEGIN { exit !(l < 0.7 * f && a >= 0.88) }'
check "QGFace run: loss falls, held-out accuracy >= 88%" $?
"$BIN" train "${COMMON[@]}" "${QG[@]}" --ckpt_dir "$TMP/qgres" --resume "$TMP/qg/ckpt_step00000170.safetensors" \
    >"$TMP/qgres.out" 2>&1
lastr=$(json_num "$TMP/qgres/train_log.jsonl" summary last_epoch_loss)
accr=$(json_num "$TMP/qgres/train_log.jsonl" summary val_acc)
echo "     QGFace resumed at 170: last epoch loss $lastr (uninterrupted $last), accuracy $accr"
[ -n "$lastr" ] && [ "$lastr" = "$last" ] && [ "$accr" = "$acc" ]
check "QGFace resume (queue in the checkpoint) ends as the uninterrupted run" $?
"$BIN" train "${COMMON[@]}" "${QG[@]}" --quality laplacian --ckpt_dir "$TMP/qglap" >"$TMP/qglap.out" 2>&1
check "QGFace run with the Laplacian quality exits 0" $?
acc=$(json_num "$TMP/qglap/train_log.jsonl" summary val_acc)
echo "     QGFace + Laplacian quality: held-out verification accuracy $acc"
awk -v a="$acc" 'BEGIN { exit !(a >= 0.88) }'
check "QGFace + Laplacian quality: held-out accuracy >= 88%" $?

# fine-tuning an imported ONNX network (the shipped MobileFaceNet, RGB, (x - 127.5) / 128):
# 2 steps with a checkpoint, then a resume from it for a third
MFN=$SHARED/models/mobilefacenet_fr512.onnx
ONNX=(--data "$TMP/train.lst" --data_root "$ORL" --init_onnx "$MFN" --input_std 128 --batch 8 --threads 1
      --optimizer adamw --lr 1e-4 --head arcface)
"$BIN" train "${ONNX[@]}" --steps 2 --ckpt_dir "$TMP/onnx" >"$TMP/onnx.out" 2>&1 &&
    [ -f "$TMP/onnx/ckpt_step00000002.safetensors" ]
check "ONNX fine-tune: 2 steps and a checkpoint" $?
out=$("$BIN" train "${ONNX[@]}" --steps 3 --resume "$TMP/onnx/ckpt_step00000002.safetensors" 2>&1)
[[ "$out" == *"3 steps (1 this run)"* ]]
check "ONNX fine-tune resumes from its checkpoint" $?

out=$("$BIN" train "${COMMON[@]}" --lr 1e30 --ckpt_every 1 --ckpt_dir "$TMP/nan" 2>&1); rc=$?
echo "     lr 1e30: exit $rc: $(echo "$out" | tail -1)"
[ $rc -eq 1 ] && [[ "$out" == *"NaN loss at step "* ]]
check "NaN loss stops the run" $?
n=$(echo "$out" | sed -n 's/.*NaN loss at step \([0-9]*\).*/\1/p')
ck=$(printf "%s/nan/ckpt_step%08d.safetensors" "$TMP" $((n - 1)))
out=$("$BIN" train "${COMMON[@]}" --resume "$ck" --steps "$((n - 1))" --ckpt_dir "" --val_pairs "" 2>&1)
check "the last checkpoint before the NaN ($ck) loads" $?

# the LQ augmentations one by one over the preset: a run with all of them trains
"$BIN" train "${COMMON[@]}" --augment adaface --aug_gblur 0.2,0.5,1.5 --aug_mblur 0.1,3,7 \
    --aug_noise 0.2,2,8 --aug_jpeg 0.2,30,90 --aug_cross 0.25,16 --aug_lowres 0.2,0.3,1 \
    --ckpt_dir "$TMP/lqaug" >"$TMP/lqaug.out" 2>&1
check "LQ augmentation run exits 0" $?
acc=$(json_num "$TMP/lqaug/train_log.jsonl" summary val_acc)
echo "     LQ augmentations (blur, motion blur, noise, JPEG, cross-resolution 16 px, low-res): held-out accuracy $acc"
awk -v a="$acc" 'BEGIN { exit !(a >= 0.85) }'
check "LQ augmentation run: held-out accuracy >= 85%" $?
out=$("$BIN" train "${COMMON[@]}" --aug_jpeg 0.5,90,30 2>&1); rc=$?
echo "     aug_jpeg 0.5,90,30: exit $rc: $(echo "$out" | tail -1)"
[ $rc -ne 0 ] && [[ "$out" == *"aug_jpeg"* ]]
check "a bad augmentation range is refused naming the key" $?

echo "cli_train: $fails failed"
[ $fails -eq 0 ]
