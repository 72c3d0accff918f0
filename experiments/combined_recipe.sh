#!/usr/bin/env bash
# Do the single changes that each gained about 0.1 dB out of domain add up? The shipped (thirteenth)
# SoundFilter fine-tuned with its own recipe (row r19: the r9 recipe + `--similar-backgrounds 0.5`) plus
#   RESIDUAL:   `--residual-queries RESIDUAL` (row r13: queried as --two-pass's second pass is);
#   PROCEDURAL: `--procedural PROCEDURAL` (row r16: procedural targets, audio-queried);
# 2 processes x 1 thread, scored on Kitchen20 (out-of-domain, never trained on; seeds 0 1 2 x N) and the
# corpus test split (in-domain). RESIDUAL=0 PROCEDURAL=0 is the control (row r22 of the ablation).
# Recorded in docs/notebook/realworld-ablation.md,
# "Extrapolating along the fine-tunes, and the small gains combined" (row r26).
#
#   RESIDUAL=0.3 PROCEDURAL=0.25 STEPS=600 WORK=/tmp/comb bash experiments/combined_recipe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RESIDUAL="${RESIDUAL:-0.3}" PROCEDURAL="${PROCEDURAL:-0.25}" WORK="${WORK:-/tmp/comb}"
NAME="${NAME:-comb-r${RESIDUAL}-p${PROCEDURAL}-${STEPS:-600}}"
. experiments/finetune_lib.sh  # fit, train, score; STEPS N WORK INIT CORPUS POOL K20
train "$NAME" --similar-backgrounds 0.5 --residual-queries "$RESIDUAL" --procedural "$PROCEDURAL" --seed "${SEED:-0}"
score "$NAME"
