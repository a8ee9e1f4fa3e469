#!/bin/sh
# Builds bench/kernels/bench_conv against build-kernels/liblqface.a (build the library first:
# cmake --build build-kernels --target lqface_lib). Usage: bench/kernels/build.sh [builddir]
set -e
B=${1:-build-kernels}
cd "$(dirname "$0")/../.."
gcc -O3 -march=native -fopenmp -std=c11 -Isrc -Iinclude bench/kernels/bench_conv.c "$B/liblqface.a" \
    -ldnnl -lm -o "$B/bench_conv"
echo "built $B/bench_conv"
