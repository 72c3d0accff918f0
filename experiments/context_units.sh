#!/usr/bin/env bash
# Does more capacity let a CPU fine-tune keep gaining out of domain? The shipped SoundFilter plus
# `--context-units 4` (four FiLM-conditioned dilated residual units after the bottleneck, 1.45 M -> 2.64 M
# parameters; they start as the identity, so the warm start begins exactly at the shipped model), trained
# with the shipped (row r9) recipe, 2 processes x 1 thread, and scored on Kitchen20
# (out-of-domain, never trained on; seeds 0 1 2 x N) and the corpus test split (in-domain).
# The control is experiments/bf16_convergence.sh's fp32 fine-tune (same options without the units).
# BF16=1 adds --bf16: faster only on a CPU with bf16 matrix units (AMX / avx512_bf16); on one without
# (an AMD EPYC here, 2026-12-06) it is many times slower.
# Recorded in docs/notebook/realworld-ablation.md, "Capacity at the bottleneck".
#
#   STEPS=600 LR_SCALE=10 NAME=c4x10-600 WORK=/tmp/ctx bash experiments/context_units.sh
#   INIT=/tmp/ctx/model-c4x10-600 STEPS=1200 NAME=c4x10-1800 ... # 1,200 more steps from that model
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${STEPS:-600}" N="${N:-100}" INIT="${INIT:-models/soundfilter}" WORK="${WORK:-/tmp/ctx}" UNITS="${UNITS:-4}" LR_SCALE="${LR_SCALE:-10}"
NAME="${NAME:-c${UNITS}x${LR_SCALE}-${STEPS}}"
CORPUS="${CORPUS:-$HOME/.cache/sfcli/corpus}" POOL="${POOL:-$HOME/.cache/sfcli/pool}"
K20="${K20:-../shared/data/kitchen20/manifest.jsonl}"
mkdir -p "$WORK"
OMP_NUM_THREADS=1 .venv/bin/torchrun --nproc_per_node 2 --no-python .venv/bin/sfcli train-filter \
    --corpus "$CORPUS" --run-dir "$WORK/run-$NAME" --projection --postfilter --refiner-channels 8 \
    --text-expansion --text-rate 0.4 --batch-size 16 --checkpoint-every 100 --valid-size 128 \
    --steps "$STEPS" -q --pool "$POOL" --init "$INIT" --lr 1e-4 --lr-schedule cosine --warmup 50 \
    --eval-every 300 --label-free 0.3 --augment 1.0 --other-take 0.5 --swap-pairs 1.0 ${BF16:+--bf16} \
    --context-units "$UNITS" --context-lr-scale "$LR_SCALE" > "$WORK/run-$NAME.json" 2> "$WORK/run-$NAME.log"
rm -rf "$WORK/model-$NAME"
.venv/bin/python scripts/export_filter.py "$WORK/run-$NAME" "$WORK/model-$NAME" --last
.venv/bin/sfcli eval "$K20" --filter "$WORK/model-$NAME" --n "$N" -q --json > "$WORK/$NAME-k20.json"
.venv/bin/sfcli eval "$CORPUS/eval/test.jsonl" --filter "$WORK/model-$NAME" -q --json > "$WORK/$NAME-test.json"
