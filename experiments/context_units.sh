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
#   INIT=/tmp/ctx/run-c4x10-600/checkpoint.pt STEPS=1200 NAME=c4x10-1800 ... # 1,200 more steps from that run
set -euo pipefail
cd "$(dirname "$0")/.."
UNITS="${UNITS:-4}" LR_SCALE="${LR_SCALE:-10}" WORK="${WORK:-/tmp/ctx}"
NAME="${NAME:-c${UNITS}x${LR_SCALE}-${STEPS:-600}}"
. experiments/finetune_lib.sh  # fit, train, score; STEPS N WORK INIT CORPUS POOL K20
train "$NAME" ${BF16:+--bf16} --context-units "$UNITS" --context-lr-scale "$LR_SCALE"
score "$NAME"
