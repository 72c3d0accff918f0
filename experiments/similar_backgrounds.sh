#!/usr/bin/env bash
# Does training on mixtures of sounds that sound alike make the query steer the network on real recordings?
# The shipped SoundFilter fine-tuned with the shipped (row r9) recipe plus `--similar-backgrounds SHARE`
# (a share of the described examples takes its background from one of the 10 categories nearest to the
# target's in the SoundWords audio bank, never of a conflicting group), 2 processes x 1 thread, scored on
# Kitchen20 (out-of-domain, never trained on; seeds 0 1 2 x N) and the corpus test split (in-domain). The
# control is the same fine-tune without it (experiments/bf16_convergence.sh's fp32 run). Recorded in
# docs/notebook/realworld-ablation.md, "Similar backgrounds".
#
#   SHARE=0.5 STEPS=600 WORK=/tmp/sim bash experiments/similar_backgrounds.sh
#   SHARE=0.5 ANY_GROUP=1 NAME=sim0.5any-600 ...   # also from the target's own coarse group (--similar-any-group)
#   SHARE=0.5 SEED=1 NAME=sim0.5-600-seed1 ...      # another fine-tune seed (SEED: train-filter --seed)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARE="${SHARE:-0.5}" WORK="${WORK:-/tmp/sim}"
NAME="${NAME:-sim${SHARE}-${STEPS:-600}}"
. experiments/finetune_lib.sh  # fit, train, score; STEPS N WORK INIT CORPUS POOL K20
ANY=()
[ "${ANY_GROUP:-0}" = 1 ] && ANY=(--similar-any-group)
train "$NAME" --similar-backgrounds "$SHARE" "${ANY[@]}" --seed "${SEED:-0}"
score "$NAME"
