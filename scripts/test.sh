#!/usr/bin/env bash
# The test command: install dependencies, build, run every test through CTest.
# Shared data and models come from $LQFACE_SHARED (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
export LQFACE_SHARED="${LQFACE_SHARED:-$(cd .. && pwd)/shared}"
scripts/build.sh
ctest --test-dir build --output-on-failure -j2
