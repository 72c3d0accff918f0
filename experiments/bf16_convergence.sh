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
STEPS="${STEPS:-600}" N="${N:-100}" WORK="${WORK:-/tmp/bf16}"
CORPUS="${CORPUS:-$HOME/.cache/sfcli/corpus}" POOL="${POOL:-$HOME/.cache/sfcli/pool}"
K20="${K20:-../shared/data/kitchen20/manifest.jsonl}"
PY=.venv/bin/python
mkdir -p "$WORK"

fit() {  # fit NAME OPTIONS...: one 2-process x 1-thread run with the shipped architecture, exported at its last step
    local name=$1
    shift
    OMP_NUM_THREADS=1 .venv/bin/torchrun --nproc_per_node 2 --no-python .venv/bin/sfcli train-filter \
        --corpus "$CORPUS" --run-dir "$WORK/run-$name" --projection --postfilter --refiner-channels 8 \
        --text-expansion --text-rate 0.4 --batch-size 16 --checkpoint-every 100 --valid-size 128 \
        --steps "$STEPS" "$@" > "$WORK/run-$name.json" 2> "$WORK/run-$name.log"
    rm -rf "$WORK/model-$name"
    "$PY" scripts/export_filter.py "$WORK/run-$name" "$WORK/model-$name" --last
}

train() {  # train NAME [--bf16]: the shipped model + the shipped (row r9) recipe
    fit "$@" -q --pool "$POOL" --init models/soundfilter --lr 1e-4 --lr-schedule cosine --warmup 50 \
        --eval-every 300 --label-free 0.3 --augment 1.0 --other-take 0.5 --swap-pairs 1.0
}

SEED="${SEED:-0}"
TAG=scratch
[ "$SEED" = 0 ] || TAG="scratch-s$SEED"

scratch() {  # scratch NAME [--bf16]: from random weights, corpus mixtures only
    local name=$TAG-$1
    shift
    fit "$name" "$@" --lr 1e-3 --lr-schedule constant --warmup 100 --eval-every 100 --seed "$SEED"
}

score() {  # score NAME
    local m="$WORK/model-$1"
    .venv/bin/sfcli eval "$K20" --filter "$m" --n "$N" -q --json > "$WORK/$1-k20.json"
    .venv/bin/sfcli eval "$CORPUS/eval/test.jsonl" --filter "$m" -q --json > "$WORK/$1-test.json"
}

case "${1:-all}" in
    fp32) train fp32 ;;
    bf16) train bf16 --bf16 ;;
    eval) score fp32 && score bf16 ;;
    all) train fp32 && train bf16 --bf16 && score fp32 && score bf16 ;;
    scratch) scratch fp32 && scratch bf16 --bf16 && score "$TAG-fp32" && score "$TAG-bf16" ;;
    *) echo "usage: $0 [fp32|bf16|eval|all|scratch]" >&2 && exit 2 ;;
esac
