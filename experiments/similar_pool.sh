#!/usr/bin/env bash
# Do label-free examples that use the pool's SoundWords neighbours help audio queries on real recordings?
# The shipped (thirteenth) SoundFilter fine-tuned with its own recipe (row r19: the r9 recipe +
# `--similar-backgrounds 0.5`) plus
#   SHARE: `--similar-pool SHARE`, a share of the label-free examples takes its background from one of the
#          20 pool clips of other sources nearest to the target's clip in SoundWords audio space;
#   TAKE:  `--pool-other-take TAKE`, a share of the label-free examples takes its audio query from one of
#          the 5 clips of the target's own source nearest to the target's clip (a stand-in for another take);
# 2 processes x 1 thread, scored on Kitchen20 (out-of-domain, never trained on; seeds 0 1 2 x N) and the
# corpus test split (in-domain). SHARE=0 TAKE=0 is the control (the same 600 steps without either).
# Needs the pool embeddings (python scripts/make_pool_embeddings.py). Recorded in
# docs/notebook/realworld-ablation.md, "Label-free examples from the pool's neighbours".
#
#   SHARE=0 TAKE=0 NAME=ctl13-600 STEPS=600 WORK=/tmp/sim13 bash experiments/similar_pool.sh   # the control
#   SHARE=0.5 STEPS=600 WORK=/tmp/sim13 bash experiments/similar_pool.sh                         # simpool0.5-600
#   SHARE=0 TAKE=0.5 NAME=pooltake0.5-600 STEPS=600 WORK=/tmp/sim13 bash experiments/similar_pool.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SHARE="${SHARE:-0.5}" TAKE="${TAKE:-0}" WORK="${WORK:-/tmp/sim13}"
NAME="${NAME:-simpool${SHARE}-${STEPS:-600}}"
. experiments/finetune_lib.sh  # fit, train, score; STEPS N WORK INIT CORPUS POOL K20
train "$NAME" --similar-backgrounds 0.5 --similar-pool "$SHARE" --pool-other-take "$TAKE" --seed "${SEED:-0}"
score "$NAME"
