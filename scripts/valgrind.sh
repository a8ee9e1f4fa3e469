#!/usr/bin/env bash
# valgrind.sh — the command line's smoke runs under valgrind's memcheck, each of which must be
# clean (--error-exitcode=1: invalid reads or writes, uses of uninitialised values, bad frees,
# and definite leaks are errors): detect and embed on LFW photos, eval verify on 10 LFW pairs
# (detection, alignment, embedding, protocol, report), train on ORL with configs/orl_tiny.conf
# (at 112 px) for 3 steps with a checkpoint, then info and embed through that checkpoint. Builds a portable
# RelWithDebInfo tree into build-valgrind/ (valgrind does not run AVX-512, so no
# -march=native), one thread. Takes ~10 minutes on 2 cores; not part of CI (docs/robustness.md).
#   scripts/valgrind.sh [RUN...]     runs: detect embed eval train (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
export LQFACE_SHARED="${LQFACE_SHARED:-$(cd .. && pwd)/shared}"
scripts/install-deps.sh --tools > /dev/null
cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLQF_NATIVE=OFF > /dev/null
cmake --build build-valgrind -j"$(nproc)" --target lqface > /dev/null
BIN=build-valgrind/lqface
LFW=$LQFACE_SHARED/data/lfw/lfw-deepfunneled
ORL=$LQFACE_SHARED/data/orl/att_faces
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE # set: lqface does not re-execute itself (/proc/self/exe is valgrind)
VG=(valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite
    --num-callers=30 --suppressions=tests/valgrind.supp) # oneDNN's JIT vector over-reads, see the file
fails=0
vg() { # vg NAME ARGS...: one run under memcheck, its log in $TMP/NAME.vg
  local name=$1
  shift
  local t0=$SECONDS
  if "${VG[@]}" --log-file="$TMP/$name.vg" "$BIN" "$@" > "$TMP/$name.out" 2>&1; then
    echo "valgrind $name: clean ($((SECONDS - t0)) s): $BIN $*"
  else
    echo "valgrind $name: FAILED ($((SECONDS - t0)) s): $BIN $*"
    head -60 "$TMP/$name.vg" "$TMP/$name.out"
    fails=$((fails + 1))
  fi
}
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(detect embed eval train)
for r in "${runs[@]}"; do
  case $r in
    detect) vg detect detect "$LFW/Aaron_Eckhart/Aaron_Eckhart_0001.jpg" ;;
    embed) vg embed embed "$LFW/Aaron_Eckhart/Aaron_Eckhart_0001.jpg" "$LFW/Zico/Zico_0001.jpg" -o "$TMP/emb" ;;
    eval)
      b() { printf 'George_W_Bush/George_W_Bush_%04d.jpg' "$1"; }
      p() { printf 'Colin_Powell/Colin_Powell_%04d.jpg' "$1"; }
      { echo "$(b 1) $(b 2) 1"; echo "$(b 1) $(b 3) 1"; echo "$(b 2) $(b 4) 1"; echo "$(b 3) $(b 4) 1"
        echo "$(p 1) $(p 2) 1"; echo "$(b 1) $(p 1) 0"; echo "$(b 2) $(p 2) 0"; echo "$(b 3) $(p 1) 0"
        echo "$(b 4) $(p 2) 0"; echo "$(b 1) $(p 2) 0"; } > "$TMP/pairs.txt"
      vg eval eval verify --list "$TMP/pairs.txt" --root "$LFW" --resolution 28 --json "$TMP/eval.json" ;;
    train)
      for s in 1 2 3 4 5 6 7 8; do for i in 1 2; do echo "s$s/$i.pgm $((s - 1))"; done; done > "$TMP/train.lst"
      vg train train --config configs/orl_tiny.conf --data "$TMP/train.lst" --data_root "$ORL" --steps 3 --batch 8 \
        --input_size 112 --loader_threads 1 --ckpt_dir "$TMP/run" --val_pairs "" --quiet
      vg info_ckpt info "$TMP/run/ckpt_step00000003.safetensors"
      { printf 'P5\n112 112\n255\n'; tail -c 10304 "$ORL/s1/1.pgm"; tail -c 2240 "$ORL/s1/2.pgm"; } > "$TMP/face.pgm"
      vg embed_ckpt embed -m "$TMP/run/ckpt_step00000003.safetensors" "$TMP/face.pgm" --aligned ;;
    *) echo "valgrind.sh: unknown run $r (detect embed eval train)"; exit 2 ;;
  esac
done
[ $fails -eq 0 ]
