#!/bin/bash
# cli_contract.sh — an embedding model's input contract on the command line, with models
# written by tools/contract_models.py: a BGR MobileFaceNet (the shipped model with its first
# convolution's input channels reversed) gives the shipped model's embeddings when told --bgr
# (embed, compare, eval) and other ones without; a network with open input height and width
# takes --input-size (faces aligned to that size) and equals a numpy re-implementation; a
# fixed-size network refuses another size; `lqface info` prints the contract and the source
# of each field; bad contract values are usage errors that name the value.
set -u
BIN=${LQFACE_BIN:?}
SHARED=${LQFACE_SHARED:-../shared}
TOOLS=$(cd "$(dirname "$0")/../tools" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
check() { # check NAME STATUS [DETAIL]
    if [ "$2" -eq 0 ]; then echo "ok   $1${3:+  ($3)}"; else echo "FAIL $1${3:+  ($3)}"; fails=$((fails + 1)); fi
}
# maxdiff A.f32 B.f32: the largest absolute difference of two float32 files of equal size
maxdiff() {
    /usr/bin/python3 -c 'import sys, numpy as np
a, b = (np.fromfile(f, np.float32) for f in sys.argv[1:3])
print("%.3g" % (np.abs(a - b).max() if a.size == b.size and a.size else float("inf")))' "$1" "$2"
}
le() { /usr/bin/python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$1" "$2"; }

MFN=$SHARED/models/mobilefacenet_fr512.onnx
/usr/bin/python3 "$TOOLS/contract_models.py" "$MFN" "$TMP"
check "tools/contract_models.py writes bgr.onnx, open.onnx, 4 crops and their reference" $?
LFW=$SHARED/data/lfw/lfw-deepfunneled
ids="Aaron_Peirsol Abdullah_Gul Adrien_Brody Alejandro_Toledo Ali_Naimi Alvaro_Uribe"
photos=()
for id in $ids; do photos+=("$LFW/$id/${id}_0001.jpg" "$LFW/$id/${id}_0002.jpg"); done

# ---- a BGR model told --bgr equals the RGB model
"$BIN" embed "${photos[@]}" -o "$TMP/rgb" 2> /dev/null
check "embed with the shipped (RGB) model" $?
"$BIN" embed "${photos[@]}" -m "$TMP/bgr.onnx" --bgr -o "$TMP/bgr" 2> /dev/null
check "embed with the BGR model and --bgr" $?
d=$(maxdiff "$TMP/rgb.f32" "$TMP/bgr.f32")
le "$d" 1e-5
check "the BGR model told --bgr gives the RGB model's embeddings" $? "max |diff| $d over 12 x 512"
"$BIN" embed "${photos[@]}" -m "$TMP/bgr.onnx" --contract "order=bgr,mean=127.5,std=128" -o "$TMP/spec" 2> /dev/null
d=$(maxdiff "$TMP/bgr.f32" "$TMP/spec.f32")
le "$d" 0
check "--contract 'order=bgr,mean=127.5,std=128' is --bgr" $? "max |diff| $d"
"$BIN" embed "${photos[@]}" -m "$TMP/bgr.onnx" -o "$TMP/wrong" 2> /dev/null
d=$(maxdiff "$TMP/rgb.f32" "$TMP/wrong.f32")
le 0.01 "$d"
check "without --bgr the BGR model gives other embeddings" $? "max |diff| $d"
a=$("$BIN" compare "${photos[0]}" "${photos[1]}" --json | sed 's/.*"cosine":\([-0-9.]*\).*/\1/')
b=$("$BIN" compare "${photos[0]}" "${photos[1]}" --json -m "$TMP/bgr.onnx" --bgr | sed 's/.*"cosine":\([-0-9.]*\).*/\1/')
le "$(/usr/bin/python3 -c "print(abs($a - $b))")" 2e-6
check "compare: the BGR model told --bgr scores the RGB model's cosine" $? "$a vs $b"

"$BIN" align "${photos[@]}" -o "$TMP/al" 2> /dev/null
set -- $ids
: > "$TMP/pairs.txt"
for id in $ids; do echo "${id}_0001.png ${id}_0002.png 1" >> "$TMP/pairs.txt"; done
while [ $# -ge 2 ]; do echo "${1}_0001.png ${2}_0002.png 0" >> "$TMP/pairs.txt"; echo "${2}_0001.png ${1}_0002.png 0" >> "$TMP/pairs.txt"; shift 2; done
mkdir -p "$TMP/s_rgb" "$TMP/s_bgr"
"$BIN" eval verify --list "$TMP/pairs.txt" --root "$TMP/al" --aligned --scores "$TMP/s_rgb" > /dev/null 2>&1 &&
    "$BIN" eval verify --list "$TMP/pairs.txt" --root "$TMP/al" --aligned --scores "$TMP/s_bgr" -m "$TMP/bgr.onnx" --bgr \
        > /dev/null 2>&1
check "eval verify with the BGR model and --bgr" $?
d=$(/usr/bin/python3 -c 'import sys, numpy as np
a, b = (np.loadtxt(f) for f in sys.argv[1:3])
print("%.3g" % (np.abs(a - b).max() if a.shape == b.shape and len(a) == 12 else float("inf")))' "$TMP/s_rgb/clean.tsv" "$TMP/s_bgr/clean.tsv")
le "$d" 2e-5
check "eval: the 12 pair distances equal the RGB model's" $? "max |diff| $d"

# ---- a network with open height and width takes --input-size
"$BIN" embed --aligned "$TMP"/crop?.ppm -m "$TMP/open.onnx" --input-size 96 -o "$TMP/open" 2> /dev/null
check "embed 96x96 faces with the open-size network and --input-size 96" $?
d=$(maxdiff "$TMP/open.f32" "$TMP/open_ref.f32")
le "$d" 1e-5
check "its embeddings equal numpy's (tools/contract_models.py)" $? "max |diff| $d"
"$BIN" align --size 96 "${photos[@]:0:4}" -o "$TMP/al96" 2> /dev/null
"$BIN" embed --aligned "$TMP"/al96/*.png -m "$TMP/open.onnx" --input-size 96 -o "$TMP/open_al" 2> /dev/null &&
    "$BIN" embed "${photos[@]:0:4}" -m "$TMP/open.onnx" --input-size 96 -o "$TMP/open_det" 2> /dev/null
check "embed photos and their 96x96 crops (lqface align --size 96) with the open-size network" $?
d=$(maxdiff "$TMP/open_al.f32" "$TMP/open_det.f32")
le "$d" 0
check "photos are aligned to the contract's size (96) before embedding" $? "max |diff| $d"
out=$("$BIN" embed "${photos[0]}" --input-size 96 2>&1 >/dev/null)
rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"$MFN: network input is 112x112 but the contract says 96x96"* ]]
check "a fixed-size network refuses another size: exit 1, both sizes named" $? "$out"
out=$("$BIN" embed --aligned "$TMP/crop0.ppm" -m "$TMP/open.onnx" --input-size 96x80 2>&1 >/dev/null)
rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"96x80, but faces are aligned square"* ]]
check "a non-square size is refused for aligned faces" $? "$out"

# ---- lqface info: the contract and where each field came from
out=$("$BIN" info "$TMP/bgr.onnx" --bgr --mean 127.5)
[[ "$out" == *"contract:       size=112x112 order=bgr mean=127.5,127.5,127.5 std=128,128,128"* &&
    "$out" == *"  from:         size default, order flags, mean flags, std default"* ]]
check "info prints the contract and the source of each field" $? "$(echo "$out" | tail -2 | tr '\n' '|')"
out=$("$BIN" info "$TMP/open.onnx" --json --contract "size=96 rgb std=1,2,3")
[[ "$out" == *'"contract":{"size":[96,96],"order":"rgb","mean":[127.5,127.5,127.5],"std":[1,2,3],"source":{"size":"flags","order":"flags","mean":"default","std":"flags"}}}' ]]
check "info --json adds the contract to the network's object" $? "${out: -170}"
out=$("$BIN" info "$TMP/open.onnx")
[[ "$out" == *"note:           the network's input height and width are open: it runs at the contract's size"* ]]
check "info notes an open input size" $?
out=$("$BIN" info "$MFN" --input-size 96)
[[ "$out" == *"note:           the network's input is 112x112, not the contract's"* ]]
check "info notes a fixed input size that is not the contract's" $?
out=$("$BIN" info "$SHARED/models/yunet_n_640_640.onnx")
[[ "$out" != *"contract"* ]]
check "a detector (12 outputs) has no embedding contract" $?

# ---- bad values: usage errors naming the value
for bad in "--mean abc" "--std 0" "--input-size 0" "--input-size 112x" "--contract foo" "--contract mean=1,2" \
    "--contract size=" "--contract 5"; do
    out=$("$BIN" embed "${photos[0]}" $bad 2>&1 >/dev/null)
    rc=$?
    val=${bad#* }
    [ $rc -eq 2 ] && [[ "$out" == "lqface: contract"*"'${val#*=}"* || "$out" == "lqface: contract"*"'$val'"* ]]
    check "$bad: exit 2 naming the value" $? "$out"
done

echo "cli_contract: $fails failed"
[ $fails -eq 0 ]
