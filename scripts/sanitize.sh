#!/usr/bin/env bash
# Builds lqface with AddressSanitizer + UBSan (-O2 -g, -march=native as the release build:
# the tests' tolerances hold for its code paths; the fuzz build covers the portable ones)
# into build-asan/ and runs the whole test suite under it (CTest; a regex argument runs a
# subset, e.g. scripts/sanitize.sh 'bad|hostile'). Any sanitizer report — memory error,
# undefined behaviour, leak — fails the test that caused it.
set -euo pipefail
cd "$(dirname "$0")/.."
export LQFACE_SHARED="${LQFACE_SHARED:-$(cd .. && pwd)/shared}"
scripts/install-deps.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLQF_SANITIZE=ON -DLQF_NATIVE=ON > /dev/null
cmake --build build-asan -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir build-asan --output-on-failure -j2 ${1:+-R "$1"}
