#!/usr/bin/env bash
# Same figures from two builds: runs the tests that print numerical results (PyTorch/ONNX
# Runtime/OpenCV parity, training steps, the ORL runs of test_train and cli_train.sh, ...)
# with the test programs and lqface tool of two CMake build directories of the same
# tests/data, and diffs the numbers each output line prints once timings, memory sizes,
# process ids, temporary paths and check counts are masked. Every line of the old output must
# come back with the same numbers (lines only the new output has are the new version's added
# tests, counted apart). Prints a markdown report; exits 1 when an old line is missing or
# changed. Then the ORL CI run (configs/orl_tiny.conf) with both tools: the final checkpoint's
# tensors and the logged loss and gradient norm of every step must be equal bit for bit.
# Usage: bench/figures_identical.sh OLD_BUILD_DIR NEW_BUILD_DIR   (both built with their tests)
set -uo pipefail
cd "$(dirname "$0")/.."
OLD=$(cd "$1" && pwd); NEW=$(cd "$2" && pwd)
export LQFACE_SHARED=${LQFACE_SHARED:-$(cd .. && pwd)/shared} LQFACE_TESTDATA=$(pwd)/tests/data OMP_NUM_THREADS=2
TESTS="test_train test_backbone test_aroface_step test_qgface test_layers test_heads test_optim test_ops test_onnx
test_onnx_ops test_onnx_graph test_model test_detect test_align test_eval"
TMP=$(mktemp -d /tmp/lqf-figures-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# timings, rates, sizes, pids and temporary paths vary from run to run (masked); then only the
# numbers of each line are compared (a renamed label is no figure)
mask() { sed -E -e 's#/tmp/[A-Za-z0-9_./-]+#TMPPATH#g' -e 's/[0-9]+(\.[0-9]+)? ?(ms|us|s|img\/s|MB|GB)\b/T/g' \
                 -e 's/in [0-9]+s,/in Ts,/g' -e 's/_[0-9]+_/_PID_/g' -e 's/[0-9]+ checks/N checks/' "$1" |
         perl -ne 'my @n = /[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g; print join(" ", @n), "\n"'; }
echo "# Same figures: old \`$OLD\` vs new \`$NEW\`"
echo
echo "Outputs compared line by line, the numbers each line prints, after masking timings, rates, memory sizes,"
echo "process ids, temporary paths and check counts. Changed: lines of the old output missing or with other"
echo "numbers in the new one (must be 0);"
echo "added: lines only the new output has (tests the new version added)."
echo
echo "| program | lines (new) | changed | added | result (new) |"
echo "|---|---|---|---|---|"
fail=0
for t in $TESTS cli_train; do
  for who in old new; do
    b=$OLD; [ $who = new ] && b=$NEW
    if [ $t = cli_train ]; then LQFACE_BIN=$b/lqface bash tests/cli_train.sh > "$TMP/$who-$t" 2>&1
    else (cd "$TMP" && LQFACE_BIN=$b/lqface "$b/$t" > "$TMP/$who-$t" 2>&1); fi
    echo "exit $?" >> "$TMP/$who-$t"
  done
  diff <(mask "$TMP/old-$t") <(mask "$TMP/new-$t") > "$TMP/diff-$t"
  n=$(grep -c '^<' "$TMP/diff-$t"); a=$(grep -c '^>' "$TMP/diff-$t")
  [ "$n" = 0 ] || fail=1
  last=$(grep -E 'checks|^ok|FAIL' "$TMP/new-$t" | tail -1)
  echo "| $t | $(wc -l < "$TMP/new-$t") | $n | $a | ${last:-} |"
  [ "$n" = 0 ] || { echo; echo '```'; head -20 "$TMP/diff-$t"; echo '```'; echo; }
done

# The ORL CI run (configs/orl_tiny.conf, one compute thread, 500 steps) with both tools: the
# final checkpoint's tensors and every step's loss and gradient norm in the log, bit for bit.
for who in old new; do
  b=$OLD; [ $who = new ] && b=$NEW
  "$b/lqface" train --config configs/orl_tiny.conf --data "$LQFACE_SHARED/data/orl/att_faces" --ckpt_dir "$TMP/orl-$who" \
    --quiet > "$TMP/orl-$who.txt" 2>&1 || echo "orl run ($who) failed: $(tail -1 "$TMP/orl-$who.txt")"
done
orl=$(/usr/bin/python3 - "$TMP/orl-old" "$TMP/orl-new" <<'PY'
import glob, json, os, struct, sys
def tensors(d):
    f = sorted(glob.glob(os.path.join(d, "*.safetensors")))[-1]
    b = open(f, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    h.pop("__metadata__", None)
    return os.path.basename(f), h, b[8 + n:]
def steps(d):
    return [(e["step"], e["loss"], e.get("grad_norm")) for e in map(json.loads, open(os.path.join(d, "train_log.jsonl")))
            if e.get("event") == "step"]
(fo, ho, do), (fn, hn, dn) = tensors(sys.argv[1]), tensors(sys.argv[2])
so, sn = steps(sys.argv[1]), steps(sys.argv[2])
same = fo == fn and ho == hn and do == dn and so == sn
print(f"{'identical' if same else 'DIFFERENT'}: {fn}, {len(hn)} tensors, {len(dn)} bytes of tensor data; "
      f"{len(sn)} logged steps (loss, grad_norm) {'the same' if so == sn else 'differ'}")
PY
)
echo "| ORL run (lqface train, orl_tiny.conf) | | | | $orl |"
[[ "$orl" == identical* ]] || fail=1
echo
[ $fail = 0 ] && echo "Result: every figure is the same." || echo "Result: some figures DIFFER (above)."
exit $fail
