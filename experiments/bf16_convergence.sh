#!/usr/bin/env bash
# Does `train-filter --bf16` train as well as float32? The same fine-tune twice, once per precision:
# the shipped SoundFilter plus STEPS steps of the shipped (row r9) recipe, 2 processes x 1 thread, then
# both scored on Kitchen20 (out-of-domain, never trained on; seeds 0 1 2 x N) and the corpus test split.
# A fine-tune of a trained model barely moves it, so a second pair trains the same architecture from
# scratch (corpus mixtures, lr 1e-3 constant after 100 warm-up steps, validation every 100 steps, its
# progress lines in WORK/run-scratch-*.log).
# Recorded in docs/notebook/speed-and-memory.md, "Training step on the CPU".
#
#   STEPS=600 N=100 WORK=/tmp/bf16 bash experiments/bf16_convergence.sh [fp32|bf16|eval|all|scratch]
#   SEED=1 ... scratch     # the scratch pair with another training seed (runs named scratch-s1-*)
set -euo pipefail
cd "$(dirname "$0")/.."
. experiments/finetune_lib.sh  # fit, train, score; STEPS N WORK CORPUS POOL K20

SEED="${SEED:-0}"
TAG=scratch
[ "$SEED" = 0 ] || TAG="scratch-s$SEED"

scratch() {  # scratch NAME [--bf16]: from random weights, corpus mixtures only
    local name=$TAG-$1
    shift
    fit "$name" "$@" --lr 1e-3 --lr-schedule constant --warmup 100 --eval-every 100 --seed "$SEED"
}

case "${1:-all}" in
    fp32) train fp32 ;;
    bf16) train bf16 --bf16 ;;
    eval) score fp32 && score bf16 ;;
    all) train fp32 && train bf16 --bf16 && score fp32 && score bf16 ;;
    scratch) scratch fp32 && scratch bf16 --bf16 && score "$TAG-fp32" && score "$TAG-bf16" ;;
    *) echo "usage: $0 [fp32|bf16|eval|all|scratch]" >&2 && exit 2 ;;
esac
