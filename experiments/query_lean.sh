#!/usr/bin/env bash
# Does training with queries that lean towards the other sound of the mixture carry SoundFilter to real
# recordings? Out of domain a query points at its own sound less and at the sound beside it more
# (SoundWords cosine of two Kitchen20 clips of one class 0.57, of different classes 0.31; corpus 0.75 / 0.02).
# The shipped (thirteenth) SoundFilter fine-tuned with its own recipe (row r19: the r9 recipe +
# `--similar-backgrounds 0.5`, which swaps every eligible pair) plus `--query-lean LEAN`
# (sfcli.train.query_noise.leaning_queries: each query of a swapped pair becomes unit(q + lam q_other),
# lam ~ U(0, LEAN)), 2 processes x 1 thread, scored on Kitchen20 (out-of-domain, never trained on; seeds
# 0 1 2 x N) and the corpus test split (in-domain). The control is row r22 (the same 600 steps without it:
# `SHARE=0 TAKE=0 NAME=ctl13-600 bash experiments/similar_pool.sh`).
# Recorded in docs/notebook/realworld-ablation.md, "Queries that lean towards the other sound".
#
#   LEAN=0.6 STEPS=600 WORK=/tmp/lean bash experiments/query_lean.sh     # lean0.6-600
set -euo pipefail
cd "$(dirname "$0")/.."
LEAN="${LEAN:-0.6}" WORK="${WORK:-/tmp/lean}"
NAME="${NAME:-lean${LEAN}-${STEPS:-600}}"
. experiments/finetune_lib.sh  # fit, train, score; STEPS N WORK INIT CORPUS POOL K20
train "$NAME" --similar-backgrounds 0.5 --query-lean "$LEAN" --seed "${SEED:-0}"
score "$NAME"
