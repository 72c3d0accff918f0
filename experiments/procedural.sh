#!/usr/bin/env bash
# Do procedural everyday sounds (sfcli.data.procedural: impacts, textures, motors, bubbles, crackle,
# scrapes, tones with random parameters) as a share of the training targets help on real recordings?
# The shipped SoundFilter fine-tuned with the shipped (row r9) recipe plus `--procedural SHARE`,
# 2 processes x 1 thread, scored on Kitchen20 (out-of-domain, never trained on; seeds 0 1 2 x N) and the
# corpus test split (in-domain). The control is the same fine-tune without procedural targets
# (experiments/bf16_convergence.sh's fp32 run). Recorded in docs/notebook/realworld-ablation.md,
# "Procedural sounds".
#
#   SHARE=0.25 STEPS=600 WORK=/tmp/proc bash experiments/procedural.sh
#   SHARE=0.25 BACKGROUNDS=0.25 NAME=procbg ... # procedural backgrounds too (--procedural-backgrounds)
#   SHARE=0 SEED=1 NAME=ctl-seed1-600 ...          # the control at another fine-tune seed (SEED: train-filter --seed)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARE="${SHARE:-0.25}" BACKGROUNDS="${BACKGROUNDS:-0}" WORK="${WORK:-/tmp/proc}"
NAME="${NAME:-proc${SHARE}-${STEPS:-600}}"
. experiments/finetune_lib.sh  # fit, train, score; STEPS N WORK INIT CORPUS POOL K20
train "$NAME" --procedural "$SHARE" --procedural-backgrounds "$BACKGROUNDS" --seed "${SEED:-0}"
score "$NAME"
