#!/usr/bin/env bash
# The test command (CI runs it through .ci/run): install dependencies, build, run every test
# through CTest; then the whole suite again under AddressSanitizer + UBSan (scripts/sanitize.sh,
# build-asan/); then every fuzz harness over its committed corpus and hostile inputs and a short
# fuzzing run of FUZZ_SECONDS (default 20) each (scripts/fuzz.sh, build-fuzz/). Shared data and
# models come from $LQFACE_SHARED (default ../shared). LQF_QUICK=1 stops after the first stage.
set -euo pipefail
cd "$(dirname "$0")/.."
export LQFACE_SHARED="${LQFACE_SHARED:-$(cd .. && pwd)/shared}"
t0=$SECONDS
scripts/build.sh
ctest --test-dir build --output-on-failure -j2
echo "test.sh: release build and tests: $((SECONDS - t0)) s"
[ "${LQF_QUICK:-0}" = 1 ] && exit 0
t1=$SECONDS
scripts/sanitize.sh
echo "test.sh: ASan + UBSan build and tests: $((SECONDS - t1)) s"
t2=$SECONDS
scripts/fuzz.sh all "${FUZZ_SECONDS:-20}"
echo "test.sh: fuzz harnesses (build, replay, ${FUZZ_SECONDS:-20} s each): $((SECONDS - t2)) s; total $((SECONDS - t0)) s"
