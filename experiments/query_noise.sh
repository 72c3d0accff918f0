#!/usr/bin/env bash
# Does training on noisy query vectors carry SoundFilter to real recordings, whose queries lie farther from
# their targets than the corpus's (SoundWords cosine of two Kitchen20 clips of one class 0.57, of two corpus
# clips of one category 0.75, of two windows of one corpus clip 0.85)?
# The shipped (thirteenth) SoundFilter fine-tuned with its own recipe (row r19: the r9 recipe +
# `--similar-backgrounds 0.5`) plus `--query-noise NOISE` (sfcli.train.query_noise: each training query
# becomes unit(q + sigma n), sigma ~ U(0, NOISE) per example), 2 processes x 1 thread, scored on Kitchen20
# (out-of-domain, never trained on; seeds 0 1 2 x N) and the corpus test split (in-domain). The control is
# row r22 (the same 600 steps without noise: `SHARE=0 TAKE=0 NAME=ctl13-600 bash experiments/similar_pool.sh`).
# Recorded in docs/notebook/realworld-ablation.md, "Noisy training queries".
#
#   NOISE=0.15 STEPS=600 WORK=/tmp/qn bash experiments/query_noise.sh     # qnoise0.15-600
set -euo pipefail
cd "$(dirname "$0")/.."
NOISE="${NOISE:-0.15}" WORK="${WORK:-/tmp/qn}"
NAME="${NAME:-qnoise${NOISE}-${STEPS:-600}}"
. experiments/finetune_lib.sh  # fit, train, score; STEPS N WORK INIT CORPUS POOL K20
train "$NAME" --similar-backgrounds 0.5 --query-noise "$NOISE" --seed "${SEED:-0}"
score "$NAME"
