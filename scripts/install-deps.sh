#!/usr/bin/env bash
# Installs the Debian packages lqface needs to build and test (idempotent; apt only when
# something is missing): the compiler and libraries, and clang with libFuzzer and OpenMP for
# the fuzz harnesses (scripts/fuzz.sh). Pass --tools to also install the reference runtimes used by
# tools/ and bench/ (PyTorch, OpenCV, scikit-learn, ONNX Runtime for node).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(build-essential cmake pkg-config libdnnl-dev libprotobuf-c-dev protobuf-c-compiler libonnx-dev
      libjpeg62-turbo-dev libpng-dev zlib1g-dev clang libclang-rt-14-dev libomp-14-dev
      python3-numpy python3-onnx)  # tests: the Python module (pkg_python) and models made at test time (cli_contract)
if [ "${1:-}" = "--tools" ]; then
  pkgs+=(python3-torch python3-opencv python3-numpy python3-sklearn python3-scipy valgrind)
  command -v node > /dev/null || pkgs+=(nodejs)
  command -v npm > /dev/null || pkgs+=(npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
if [ "${1:-}" = "--tools" ] && [ ! -d tools/node_modules/onnxruntime-node ]; then
  (cd tools && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30)
fi
