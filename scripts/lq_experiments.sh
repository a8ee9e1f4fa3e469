#!/usr/bin/env bash
# lq_experiments.sh — issue 5's experiment: fine-tune the shipped MobileFaceNet on the LFW
# identities of View-2 folds 1-9 with equal budgets (2 epochs, batch 64, 314 steps, same
# seed, optimiser and schedule: configs/lfw_finetune_mobilefacenet.conf) under five recipes,
#   a_arcface          ArcFace (s 64, m 0.5), flip only
#   b_arcface_lq       ArcFace + AdaFace's low-quality augmentation (crop / low-res / jitter, p 0.2 each)
#   c_adaface_lq       AdaFace head (m 0.4, h 0.333; EMA of norms started from the first batch:
#                      the pretrained net's norms are ~3-5, far from the 20/100 prior) + the same augmentation
#   d_adaface_lq_aro   c + ARoFace (reference preset: k 1, eta 0.1, 48 clean + 16 warped of 64)
#   e_qgface           QGFace-style quality-guided training (configs/lfw_finetune_qgface.conf)
#   f_adaface_lap_lq   c with the Laplacian-energy image quality as AdaFace's quality signal
#   g_adaface_lq_arofix  c + ARoFace's corrected variant (fixed preset: no pad quirk, t bound
#                      fixed, k 2 ascent steps)
#   h_adaface_2views   e's data alone: the two views (HQ + QGFace's LQ view) through plain
#                      AdaFace, no quality gate, no contrastive loss (ablation of e)
# and evaluate each final checkpoint, and the model as shipped, on fold 10's 600 pairs (held-out
# identities) with `lqface eval verify`: clean, 112/28/14 px, and FAE levels 1-4 at 112/28/14 px.
# Then tools/lq_experiment_report.py writes docs/results/lq_experiments.{html,md}.
#
# RECIPE@SEED runs a recipe with another seed (initialisation of the head, shuffling,
# augmentation, ARoFace draws) into RUNS/RECIPE@SEED.
#
#   scripts/lq_experiments.sh [RECIPE...]     (default: all; ~1 h on 2 cores)
# Environment: LQFACE_SHARED (../shared), THREADS (2), RUNS (runs/lq), OUT (docs/results),
# BIN (build/lqface), ALIGNED (/tmp/lfw_aligned: made on first use, ~6 min), EVAL_ONLY=1
# (re-evaluate the recipes' existing checkpoints, no training).
set -euo pipefail
cd "$(dirname "$0")/.."
export LQFACE_SHARED="${LQFACE_SHARED:-$(cd .. && pwd)/shared}"
THREADS=${THREADS:-2}
RUNS=${RUNS:-runs/lq}
OUT=${OUT:-docs/results}
LFW=$LQFACE_SHARED/data/lfw
ALIGNED=${ALIGNED:-/tmp/lfw_aligned}
PAIRS10=$RUNS/lfw_fold10_pairs.txt
BIN=${BIN:-build/lqface}
[ -x "$BIN" ] || scripts/build.sh
mkdir -p "$RUNS"

# 1. aligned 112x112 training crops (YuNet + the ArcFace template), one folder per identity
if [ ! -d "$ALIGNED" ]; then
  rm -rf "$ALIGNED.flat"
  "$BIN" align "$LFW/lfw-deepfunneled" -o "$ALIGNED.flat"
  mkdir -p "$ALIGNED"
  for f in "$ALIGNED.flat"/*.png; do b=$(basename "$f"); d=${b%_*.png}; mkdir -p "$ALIGNED/$d"; mv "$f" "$ALIGNED/$d/"; done
  rmdir "$ALIGNED.flat"
fi
# 2. fold 10 as a pairs file of its own ("10 30": 10 blocks of 30 same + 30 different pairs)
awk 'NR == 1 { next }
     NR >= 5402 && NR < 5702 { s[n1++] = $0 } NR >= 5702 && NR < 6002 { d[n2++] = $0 }
     END { print "10\t30"; for (k = 0; k < 10; k++) { for (i = 0; i < 30; i++) print s[30*k+i];
           for (i = 0; i < 30; i++) print d[30*k+i] } }' "$LFW/pairs.txt" >"$PAIRS10"

BASE=(--config configs/lfw_finetune_mobilefacenet.conf --data "$ALIGNED" --lfw_pairs "$LFW/pairs.txt"
      --init_onnx "$LQFACE_SHARED/models/mobilefacenet_fr512.onnx" --val_pairs "$PAIRS10"
      --val_root "$LFW/lfw-deepfunneled" --threads "$THREADS" --loader_threads 1 --quiet)
recipe_args() { # a recipe name, optionally with @SEED for another seed of it (c_adaface_lq@7)
  case $1 in *@*) echo "$(recipe_args "${1%@*}") --seed ${1#*@}"; return ;; esac
  case $1 in
    a_arcface)        echo "--head arcface --augment none" ;;
    b_arcface_lq)     echo "--head arcface --augment adaface" ;;
    c_adaface_lq)     echo "--head adaface --m 0.4 --h 0.333 --quality_ema_init 1 --augment adaface" ;;
    d_adaface_lq_aro) echo "--head adaface --m 0.4 --h 0.333 --quality_ema_init 1 --augment adaface --aroface 1 --aro_preset reference" ;;
    e_qgface)         echo "--config configs/lfw_finetune_qgface.conf" ;;
    f_adaface_lap_lq) echo "--head adaface --m 0.4 --h 0.333 --quality laplacian --quality_ema_init 1 --augment adaface" ;;
    h_adaface_2views) echo "--config configs/lfw_finetune_qgface.conf --qg_weight 0 --quality_gate 0" ;;
    g_adaface_lq_arofix) echo "--head adaface --m 0.4 --h 0.333 --quality_ema_init 1 --augment adaface --aroface 1 --aro_preset fixed --aro_k 2" ;;
    *) echo "unknown recipe $1" >&2; return 2 ;;
  esac
}
EVAL=(--pairs "$PAIRS10" --root "$LFW/lfw-deepfunneled" --resolution 112,28,14
      --fae 1,2,3,4 --fae-resolution 112,28,14)

RECIPES=("$@")
[ ${#RECIPES[@]} -gt 0 ] || RECIPES=(a_arcface b_arcface_lq c_adaface_lq d_adaface_lq_aro e_qgface f_adaface_lap_lq
                                     g_adaface_lq_arofix h_adaface_2views)
evaluate() { # evaluate NAME [-m CHECKPOINT]: table, JSON and per-pair distances (for the paired comparison)
  local r=$1; shift
  rm -rf "$RUNS/$r.scores"; mkdir -p "$RUNS/$r.scores"
  OMP_NUM_THREADS=$THREADS "$BIN" eval verify "${EVAL[@]}" "$@" --title "$r" --json "$RUNS/$r.json" \
    --scores "$RUNS/$r.scores" >"$RUNS/$r.eval.txt"
}
[ -d "$RUNS/shipped.scores" ] || evaluate shipped
for r in "${RECIPES[@]}"; do
  args=$(recipe_args "$r")
  if [ "${EVAL_ONLY:-0}" != 1 ]; then
    rm -rf "${RUNS:?}/$r"
    echo "== $r: $BIN train ${BASE[*]} $args --ckpt_dir $RUNS/$r"
    # shellcheck disable=SC2086
    /usr/bin/time -v "$BIN" train "${BASE[@]}" $args --ckpt_dir "$RUNS/$r" >"$RUNS/$r.train.txt" 2>"$RUNS/$r.time.txt" ||
      { cat "$RUNS/$r.train.txt" "$RUNS/$r.time.txt"; exit 1; }
    tail -4 "$RUNS/$r.train.txt"
  fi
  ck=$(ls "$RUNS/$r"/ckpt_step*.safetensors | tail -1)
  evaluate "$r" -m "$ck"
  grep -E "^(clean|[0-9]+ px) " "$RUNS/$r.eval.txt" | head -4
done
/usr/bin/python3 tools/lq_experiment_report.py "$RUNS" "$OUT"
