#!/usr/bin/env bash
# The test command: install dependencies, build, run every test through CTest.
# Shared data and models come from $LQFACE_SHARED (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
export LQFACE_SHARED="${LQFACE_SHARED:-$(cd .. && pwd)/shared}"
ctest --test-dir build --output-on-failure -j2
