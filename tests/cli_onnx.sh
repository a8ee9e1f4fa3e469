#!/bin/bash
# cli_onnx.sh — `lqface info` over imported ONNX models: the description of a real model
# (human and JSON), and the exit status and message for a missing file, an empty file, a
# truncated model, a text file and a valid model with an unsupported operator
# (tests/data/onnx/bad_lstm.onnx from tools/make_bad_onnx.py; ONNX Runtime runs it).
set -u
BIN=${LQFACE_BIN:?}
SHARED=${LQFACE_SHARED:-../shared}
DATA=${LQFACE_TESTDATA:-tests/data}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
check() { # check NAME CONDITION-RESULT
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
# expect_fail NAME FILE NEEDLE: non-zero exit, message on stderr naming the file and NEEDLE
expect_fail() {
    local out rc
    out=$("$BIN" info "$2" 2>&1 >/dev/null)
    rc=$?
    echo "     $1: exit $rc: $out"
    [ $rc -ne 0 ] && [[ "$out" == *"$2"* ]] && [[ "$out" == *"$3"* ]]
    check "$1" $?
}

MFN=$SHARED/models/mobilefacenet_fr512.onnx
out=$("$BIN" info "$MFN")
check "info exits 0" $?
[[ "$out" == *"Nx3x112x112"* && "$out" == *"Nx512"* && "$out" == *"parameters:"* && "$out" == *"Conv x50"* ]]
check "info names shapes, parameters and operators" $?
json=$("$BIN" info --json "$MFN")
check "info --json exits 0" $?
[[ "$json" == "{"*"}" && "$json" == *'"inputs":[{"name":"input","shape":[1,3,112,112]'* && "$json" == *'"operators":{"Conv":50'* ]]
check "info --json is one object with inputs and operators" $?
json=$("$BIN" info --json "$SHARED/models/mtcnn/pnet.onnx")
[[ "$json" == *'"open_dims":[2,3]'* ]]
check "PNet's open H and W are reported" $?

expect_fail "missing file" "$TMP/none.onnx" "cannot open"
: > "$TMP/empty.onnx"
expect_fail "empty file" "$TMP/empty.onnx" "not a valid ONNX model"
head -c 150000 "$SHARED/models/mtcnn/rnet.onnx" > "$TMP/trunc.onnx"
expect_fail "truncated model" "$TMP/trunc.onnx" "truncated or corrupt"
echo "just some text" > "$TMP/text.onnx"
expect_fail "text file" "$TMP/text.onnx" "not a valid ONNX model"
expect_fail "unsupported operator" "$DATA/onnx/bad_lstm.onnx" "unsupported ONNX operator 'LSTM' (node 'lstm_1')"

echo "cli_onnx: $fails failed"
[ $fails -eq 0 ]
