#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer harnesses (tests/fuzz/fuzz_*.c; clang, ASan + UBSan) into
# build-fuzz/ and run them:
#   scripts/fuzz.sh [TARGET|all] [SECONDS]
# For each target: replay the committed corpus (tests/fuzz/corpus/TARGET) and the hand-made
# hostile inputs (tests/fuzz/regress/TARGET) — any crash, leak, sanitizer report or timeout
# fails — then, when SECONDS > 0, fuzz for SECONDS on one core starting from a copy of the
# corpus (build-fuzz/out/TARGET/corpus; crashes are written to build-fuzz/out/TARGET/ and fail
# the run). SECONDS defaults to 60; 0 only replays.
#   scripts/fuzz.sh --merge TARGET   add the inputs of build-fuzz/out/TARGET/corpus that reach
#                                    new coverage to the committed corpus (libFuzzer -merge=1)
# Targets: image bin recordio pairs checkpoint train_config, and onnx — left out of "all" until
# the importer checks node input counts and folded-constant sizes (tests/fuzz/regress/onnx
# crashes today; FUZZ_ONNX=1 puts it back in "all"). docs/robustness.md has the campaigns.
# Environment: FUZZ_TIMEOUT (seconds one input may take, 10; a campaign on a machine shared
# under nice -n 19 wants 30), FUZZ_FLAGS (extra libFuzzer flags), BUILD (build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-fuzz}
ALL="image bin recordio pairs checkpoint train_config"
[ "${FUZZ_ONNX:-0}" = 1 ] && ALL="$ALL onnx"

merge=0
if [ "${1:-}" = "--merge" ]; then
  merge=1
  shift
fi
target=${1:-all}
seconds=${2:-60}
timeout=${FUZZ_TIMEOUT:-10}
[ "$target" = all ] && targets=$ALL || targets=$target

scripts/install-deps.sh
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DLQF_FUZZ=ON -DLQF_NATIVE=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$BUILD" -j"$(nproc)" 2>&1 | grep -E "error|Error" || true
for t in $targets; do
  [ -x "$BUILD/fuzz_$t" ] || { echo "fuzz.sh: no harness $BUILD/fuzz_$t (targets: $ALL onnx)"; exit 2; }
done

max_len() {
  case $1 in
    checkpoint) echo 131072 ;;
    bin) echo 65536 ;;
    image | onnx) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

show_failure() { # the sanitizer's or libFuzzer's report in a log
  grep -E "ERROR|SUMMARY|Running|artifact|runtime error|#[0-9]+ 0x" "$1" | head -30
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
fails=0
for t in $targets; do
  bin=$BUILD/fuzz_$t
  out=$BUILD/out/$t
  mkdir -p "$out/corpus"
  dict=()
  [ -f "tests/fuzz/dict/$t.dict" ] && dict=(-dict="tests/fuzz/dict/$t.dict")
  if [ $merge = 1 ]; then
    "$bin" -merge=1 -max_len="$(max_len "$t")" -timeout="$timeout" -rss_limit_mb=2048 "tests/fuzz/corpus/$t" "$out/corpus" \
      2>&1 | grep -E "MERGE-OUTER: [0-9]+ new files" || true
    continue
  fi
  inputs=("tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/regress/$t" ] && inputs+=("tests/fuzz/regress/$t")
  n=$(find "${inputs[@]}" -type f | wc -l)
  if "$bin" -runs=0 -timeout="$timeout" -rss_limit_mb=2048 "${inputs[@]}" > "$out/replay.log" 2>&1; then
    echo "fuzz $t: replay of $n committed inputs: ok"
  else
    echo "fuzz $t: replay of $n committed inputs FAILED:"
    show_failure "$out/replay.log"
    fails=$((fails + 1))
    continue
  fi
  [ "$seconds" -gt 0 ] || continue
  cp -n tests/fuzz/corpus/"$t"/* "$out/corpus/" 2>/dev/null || true
  # shellcheck disable=SC2086
  if "$bin" "$out/corpus" "${dict[@]}" -max_len="$(max_len "$t")" -max_total_time="$seconds" -timeout="$timeout" \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/" ${FUZZ_FLAGS:-} > "$out/fuzz.log" 2>&1; then
    stats=$(grep -E "^#[0-9]+.*(DONE|pulse|NEW|REDUCE)" "$out/fuzz.log" | tail -1 | sed 's/  */ /g')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz.log")
    echo "fuzz $t: ${seconds}s, $execs executions, no crash ($stats)"
  else
    echo "fuzz $t: CRASH after fuzzing (log $out/fuzz.log):"
    show_failure "$out/fuzz.log"
    fails=$((fails + 1))
  fi
done
[ $fails -eq 0 ]
