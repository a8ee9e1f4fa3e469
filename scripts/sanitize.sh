#!/usr/bin/env bash
# Builds lqface with AddressSanitizer + UBSan (portable code paths, no -march=native) into
# build-asan/ and runs the error-path tests under it: bad images, bad ONNX files, bad CLI
# input, corrupt RecordIO and .bin packs. Any sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export LQFACE_SHARED="${LQFACE_SHARED:-$(cd .. && pwd)/shared}"
scripts/install-deps.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLQF_SANITIZE=ON -DLQF_NATIVE=OFF > /dev/null
cmake --build build-asan -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir build-asan --output-on-failure -R "${1:-bad|test_image|test_recordio|test_eval_bin|cli_eval}"
