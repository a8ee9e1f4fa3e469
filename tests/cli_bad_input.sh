#!/bin/bash
# cli_bad_input.sh — the deploy commands (embed, detect, compare, align) on bad input: a
# missing file, an empty file, a truncated JPEG, a text file named .jpg, a photo with no
# face, a wrong-size "aligned" face, a model with an unsupported operator, a truncated
# model. Each must give a message naming the file and the problem and a non-zero exit,
# never a crash (exit >= 128); in a batch the good photos still come out.
set -u
BIN=${LQFACE_BIN:?}
SHARED=${LQFACE_SHARED:-../shared}
DATA=${LQFACE_TESTDATA:-tests/data}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0; passed=0
check() {
    if [ "$2" -eq 0 ]; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi
}
# expect CMD-ARGS... -- NAME NEEDLE1 NEEDLE2: non-zero exit below 128, stderr contains both needles
expect() {
    local name=$1 n1=$2 n2=$3; shift 3
    local out rc
    out=$("$BIN" "$@" 2>&1 >/dev/null); rc=$?
    echo "     $name: exit $rc: $(echo "$out" | head -3 | tr '\n' ' ')"
    [ $rc -ne 0 ] && [ $rc -lt 128 ] && [[ "$out" == *"$n1"* ]] && [[ "$out" == *"$n2"* ]]
    check "$name" $?
}
LFW=$SHARED/data/lfw/lfw-deepfunneled
GOOD=$LFW/Aaron_Peirsol/Aaron_Peirsol_0001.jpg
: > "$TMP/empty.jpg"
head -c 4000 "$GOOD" > "$TMP/truncated.jpg"
echo "this is not an image" > "$TMP/text.jpg"
# a photo with no face: a smooth grey gradient
printf 'P5\n160 120\n255\n' > "$TMP/noface.pgm"
head -c 19200 /dev/zero | tr '\0' '\200' >> "$TMP/noface.pgm"
head -c 700000 "$SHARED/models/mobilefacenet_fr512.onnx" > "$TMP/truncated.onnx"

expect "embed: missing file" "$TMP/missing.jpg" "cannot open" embed "$TMP/missing.jpg"
expect "embed: empty file" "$TMP/empty.jpg" "empty" embed "$TMP/empty.jpg"
expect "embed: truncated JPEG" "$TMP/truncated.jpg" "truncated" embed "$TMP/truncated.jpg"
expect "embed: text named .jpg" "$TMP/text.jpg" "not an image" embed "$TMP/text.jpg"
expect "embed: no face" "$TMP/noface.pgm" "no face" embed "$TMP/noface.pgm"
expect "embed --aligned: wrong size" "$GOOD" "112x112" embed --aligned "$GOOD"
expect "detect: truncated JPEG" "$TMP/truncated.jpg" "truncated" detect "$TMP/truncated.jpg"
expect "compare: missing file" "$TMP/missing.jpg" "cannot open" compare "$GOOD" "$TMP/missing.jpg"
expect "compare: no face" "$TMP/noface.pgm" "no face" compare "$TMP/noface.pgm" "$GOOD"
expect "embed: unsupported operator" "bad_lstm.onnx" "LSTM" embed -m "$DATA/onnx/bad_lstm.onnx" "$GOOD"
expect "embed: truncated model" "$TMP/truncated.onnx" "truncated" embed -m "$TMP/truncated.onnx" "$GOOD"
expect "detect: truncated detector" "$TMP/truncated.onnx" "truncated" detect -d "$TMP/truncated.onnx" "$GOOD"

# a batch with bad photos: the good ones are embedded, the bad ones reported, exit 3 (partial)
out=$("$BIN" embed "$GOOD" "$TMP/truncated.jpg" "$LFW/Zico/Zico_0001.jpg" "$TMP/noface.pgm" -o "$TMP/batch" 2>"$TMP/err")
rc=$?
echo "     batch: exit $rc: $(tr '\n' ' ' < "$TMP/err")"
[ $rc -eq 3 ] && [ "$(grep -c $'\tok\t' "$TMP/batch.tsv")" -eq 2 ] && [ "$(grep -c $'\tnoface\t' "$TMP/batch.tsv")" -eq 1 ] \
  && [ "$(grep -c $'\terror\t' "$TMP/batch.tsv")" -eq 1 ] && [ "$(stat -c %s "$TMP/batch.f32")" -eq $((4 * 512 * 4)) ] \
  && grep -q "2 embedded, 1 without a face, 1 failed" "$TMP/err"
check "batch: good photos embedded, bad ones reported, exit 3" $?

# the good path still works: same person above the threshold, different below
"$BIN" compare "$GOOD" "$LFW/Aaron_Peirsol/Aaron_Peirsol_0002.jpg" > /dev/null
check "compare: same person exits 0" $?
"$BIN" compare "$GOOD" "$LFW/Zico/Zico_0001.jpg" > /dev/null
[ $? -eq 4 ]
check "compare: different people exits 4" $?
echo "cli_bad_input: $passed passed, $fails failed"
[ $fails -eq 0 ]
