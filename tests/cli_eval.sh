#!/bin/bash
# cli_eval.sh — `lqface eval` end to end on a few real LFW photos (aligned once with
# `lqface align`), and its bad input: a pair naming a missing image (reported with its
# line, the other pairs go on, the report counts the skipped pair), a malformed line
# (error with the line number), an empty list, a .bin that is not a pickle; plus
# `lqface eval ident` and `lqface degrade`.
set -u
BIN=${LQFACE_BIN:?}
SHARED=${LQFACE_SHARED:-../shared}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0; passed=0
check() {
    if [ "$2" -eq 0 ]; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi
}
LFW=$SHARED/data/lfw/lfw-deepfunneled
ids="Aaron_Peirsol Abdullah_Gul Adrien_Brody Alejandro_Toledo Ali_Naimi Alvaro_Uribe"
for id in $ids; do cp "$LFW/$id/${id}_0001.jpg" "$LFW/$id/${id}_0002.jpg" "$TMP/"; done
"$BIN" align "$TMP"/*.jpg -o "$TMP/al" 2>/dev/null
check "align 12 photos" $?
[ "$(ls "$TMP/al" | wc -l)" -eq 12 ]
check "12 crops written" $?
set -- $ids
: > "$TMP/pairs.txt"
for id in $ids; do echo "${id}_0001.png ${id}_0002.png 1" >> "$TMP/pairs.txt"; done
while [ $# -ge 2 ]; do echo "${1}_0001.png ${2}_0002.png 0" >> "$TMP/pairs.txt"; echo "${2}_0001.png ${1}_0002.png 0" >> "$TMP/pairs.txt"; shift 2; done
"$BIN" eval verify --list "$TMP/pairs.txt" --root "$TMP/al" --aligned --resolution 112,14 --json "$TMP/r.json" \
    --html "$TMP/r.html" > "$TMP/out" 2> "$TMP/err"
check "eval verify on aligned crops exits 0" $?
grep -q '"accuracy_mean"' "$TMP/r.json" && grep -q "<svg" "$TMP/r.html" && grep -q "14 px" "$TMP/out"
check "report: JSON, HTML with plots, table with the 14 px condition" $?
acc=$(sed -n 's/.*"condition":"clean"[^}]*"accuracy_mean":\([0-9.]*\).*/\1/p' "$TMP/r.json")
echo "     clean accuracy on 12 pairs: $acc"
awk -v a="$acc" 'BEGIN { exit !(a >= 0.75) }'
check "clean accuracy >= 0.75 on 6 same + 6 different pairs" $?

# a pair naming a missing photo: reported with its line, the others go on, counted
{ cat "$TMP/pairs.txt"; echo "missing.png ${1:-Aaron_Peirsol}_0001.png 0"; } > "$TMP/pairs_missing.txt"
"$BIN" eval verify --list "$TMP/pairs_missing.txt" --root "$TMP/al" --aligned --json "$TMP/m.json" > /dev/null 2> "$TMP/err"
rc=$?
echo "     missing: exit $rc: $(grep -m2 "missing" "$TMP/err" | tr '\n' ' ')"
[ $rc -eq 0 ] && grep -q "pairs_missing.txt:13: pair skipped" "$TMP/err" && grep -q "missing.png" "$TMP/err" \
  && grep -q '"skipped":1' "$TMP/m.json" && grep -q '"pairs":12' "$TMP/m.json"
check "missing photo: reported with its line, 12 pairs scored, 1 skipped in the report" $?

printf 'a.png b.png 1\nthis line is wrong\n' > "$TMP/bad.txt"
out=$("$BIN" eval verify --list "$TMP/bad.txt" --aligned 2>&1); rc=$?
echo "     malformed: exit $rc: $out"
[ $rc -ne 0 ] && [ $rc -lt 128 ] && [[ "$out" == *"bad.txt:2"* ]]
check "malformed line: error with the line number" $?
: > "$TMP/empty.txt"
out=$("$BIN" eval verify --list "$TMP/empty.txt" --aligned 2>&1); rc=$?
echo "     empty: exit $rc: $out"
[ $rc -ne 0 ] && [ $rc -lt 128 ] && [[ "$out" == *"empty"* ]]
check "empty list: clear error" $?
echo "not a pickle" > "$TMP/x.bin"
out=$("$BIN" eval verify --bin "$TMP/x.bin" 2>&1); rc=$?
echo "     not a pickle: exit $rc: $out"
[ $rc -ne 0 ] && [ $rc -lt 128 ] && [[ "$out" == *"x.bin"* ]]
check ".bin that is not a pickle: clear error naming the file" $?

# identification: first photo of each identity in the gallery, second as probe
for id in $ids; do echo "${id}_0001.png $id" >> "$TMP/g.txt"; echo "${id}_0002.png $id" >> "$TMP/p.txt"; done
"$BIN" eval ident --gallery "$TMP/g.txt" --probes "$TMP/p.txt" --root "$TMP/al" --aligned --json "$TMP/i.json" > "$TMP/out" 2>&1
check "eval ident exits 0" $?
r1=$(sed -n 's/.*"rank1":\([0-9.]*\).*/\1/p' "$TMP/i.json")
echo "     rank-1 over 6 identities: $r1"
awk -v a="$r1" 'BEGIN { exit !(a >= 0.66) }'
check "rank-1 >= 4/6" $?

"$BIN" degrade "$TMP/al/Zico_0001.png" --aligned -o "$TMP/d.png" 2>/dev/null; rc=$?
[ $rc -ne 0 ]
check "degrade: missing input fails" $?
"$BIN" degrade "$TMP/al/${ids%% *}_0001.png" --aligned --resolution 14 -o "$TMP/d.png" && [ -s "$TMP/d.png" ]
check "degrade writes a 14 px face" $?
echo "cli_eval: $passed passed, $fails failed"
[ $fails -eq 0 ]
