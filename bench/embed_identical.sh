#!/usr/bin/env bash
# Byte-identical embeddings: embeds the first N photos of LFW (sorted paths under
# $LQFACE_SHARED/data/lfw/lfw-deepfunneled: detection with YuNet-640, alignment, MobileFaceNet)
# with two lqface binaries through `lqface embed ... -o PREFIX`, once plain and once with
# flip fusion, and compares the .f32 outputs (and the .tsv indexes) byte for byte. Prints a
# small markdown report; exits 1 when any pair differs.
# Usage: bench/embed_identical.sh OLD_LQFACE NEW_LQFACE [N=200]
set -euo pipefail
OLD=$1; NEW=$2; N=${3:-200}
SHARED=${LQFACE_SHARED:-$(cd "$(dirname "$0")/../.." && pwd)/shared}
export LQFACE_SHARED=$SHARED OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
LFW=$SHARED/data/lfw/lfw-deepfunneled
TMP=$(mktemp -d /tmp/lqf-identical-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
find "$LFW" -type f -name "*.jpg" | LC_ALL=C sort > "$TMP/all.txt"
head -n "$N" "$TMP/all.txt" > "$TMP/list.txt"
echo "# Byte-identical embeddings"
echo
echo "old: \`$OLD\` ($("$OLD" --version 2>/dev/null || echo '?'))  "
echo "new: \`$NEW\` ($("$NEW" --version 2>/dev/null || echo '?'))  "
echo "photos: the first $(wc -l < "$TMP/list.txt") of LFW (sorted paths), YuNet-640 detection, MobileFaceNet, $OMP_NUM_THREADS threads"
echo
echo "| run | old .f32 sha256 | new .f32 sha256 | bytes | embedded | .f32 | .tsv |"
echo "|---|---|---|---|---|---|---|"
fail=0
for mode in plain flip; do
  opt=(); [ $mode = flip ] && opt=(--flip)
  for who in old new; do
    bin=$OLD; [ $who = new ] && bin=$NEW
    rc=0; "$bin" embed --list "$TMP/list.txt" "${opt[@]}" -o "$TMP/$who-$mode" > /dev/null 2> "$TMP/$who-$mode.err" || rc=$?
    [ $rc -le 3 ] || { echo "$who $mode: lqface embed failed ($rc)"; cat "$TMP/$who-$mode.err"; exit 1; }
  done
  a=$TMP/old-$mode.f32; b=$TMP/new-$mode.f32
  f32=identical; cmp -s "$a" "$b" || { f32=DIFFERENT; fail=1; }
  tsv=identical; cmp -s "$TMP/old-$mode.tsv" "$TMP/new-$mode.tsv" || { tsv=DIFFERENT; fail=1; }
  ok=$(awk -F'\t' '$2 == "ok"' "$TMP/new-$mode.tsv" | wc -l)
  echo "| $mode | $(sha256sum < "$a" | cut -c1-16) | $(sha256sum < "$b" | cut -c1-16) | $(stat -c %s "$b") | $ok | $f32 | $tsv |"
done
echo
[ $fail = 0 ] && echo "Result: byte-identical." || echo "Result: the outputs DIFFER."
exit $fail
