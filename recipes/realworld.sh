#!/usr/bin/env bash
# Issue 20's ablation: what each kind of real-world training data does to out-of-domain separation,
# at the same budget per row. Every row fine-tunes BASE (default: the shipped models/soundfilter) for STEPS steps of
# 16 mixtures (2 processes x 1 thread, cosine LR from 1e-4) with the shipped architecture options,
# and adds one ingredient to the row before it:
#   r1  corpus mixtures only (the control: as much more training, no new data)
#   r2  + label-free pool audio for 30 % of the examples (audio queries; docs/data.md "Label-free pool")
#   r3  + on-the-fly augmentation (rooms, EQ/tilt, band-limit, speed, Opus; sfcli/data/augment.py)
#   r4  + harder mixtures: 2-3 sources, backgrounds at +-8 dB, 10 % absent-target examples
# Two follow-ups warm-start from row 3's model and train 3 x STEPS more (not the same budget):
#   r5  row 3's options again (does more of the same help?)
#   r6  row 3's options + 10 % absent-target examples alone (without 3 sources and +-8 dB)
# Three more warm-start from row 3's model and train STEPS more (the same budget as each other):
#   r7  row 3's options again (the control for r8)
#   r8  row 3's options + audio queries from another clip of the target's category for half of the
#       described examples (--other-take 0.5), as a user's reference is another recording
#   r9  row 8's options + swapped pairs (--swap-pairs 1.0): every second example is the one before's
#       mixture queried for its other sound (same budget as r7/r8; compare with r8)
# One more warm-starts from row 9's model and trains 2 x STEPS more:
#   r10 row 9's options again (does the pairing keep paying with more steps?)
# And two more from row 3 at STEPS (compare with r9):
#   r11 row 9's options + 10 % absent-target examples (does pairing make absent training cheaper?)
#   r12 row 9's options with every described audio query from another clip (--other-take 1.0)
# And one more from row 9 at STEPS (compare with r9, and with r10 for more steps alone):
#   r13 row 9's options + 30 % of examples queried as --two-pass's second pass (--residual-queries 0.3)
# And one more from row 9 at STEPS (rows 14-18 of docs/results.md are experiments/ scripts):
#   r19 row 9's options + half the described examples over a background of a similar category
#       (--similar-backgrounds 0.5; the thirteenth SoundFilter, shipped 2026-12-07 to 12-08)
# And one more from row 19 at STEPS (rows 20-29 of docs/results.md are experiments/ scripts):
#   r30 row 19's options + each query of a swapped pair leaning towards the pair's other query by up to
#       0.6 of it (--query-lean 0.6; the fourteenth SoundFilter, shipped since 2026-12-08)
# Each row and the shipped model (r0) are scored on Kitchen20 (paper protocol, seeds 0 1 2, N
# mixtures each: out-of-domain, never trained on) and the corpus test split (in-domain), and
# scripts/ablation_table.py writes DIR/ablation.md.
#
#   bash recipes/realworld.sh [--work DIR] [--corpus DIR] [--shared DIR] [--stages LIST] [--smoke]
#   STEPS=600 N=100 bash recipes/realworld.sh       # the defaults (about 1 h 30 min on 2 idle cores)
#   BASE=DIR bash recipes/realworld.sh              # start from (and score as r0) another SoundFilter
#                                                   # folder instead of models/soundfilter
# models/soundfilter is row 30's result since 2026-12-08 (row 19's from 2026-12-07, row 9's from
# 2026-12-05, row 3's before);
# the published table started from the tenth
# version: mkdir /tmp/tenth && for f in config.json model.safetensors; do
#   git show 4aca7e7:models/soundfilter/$f > /tmp/tenth/$f; done; BASE=/tmp/tenth bash recipes/realworld.sh
#
# Stages: corpus, pool, r1 ... r13, r19 and r30 (runs DIR/runs/rw-rN, exports DIR/models/rw-rN), e0 ... e13,
# e19 and e30
# (DIR/evals/rN-{k20,test}.json), table. Options: recipes/lib.sh.
source "$(dirname "$0")/lib.sh"
recipe_args "${RECIPE_NAME:-realworld}" "$@"
STEPS="${STEPS:-600}"
N="${N:-100}"
EVALS="$WORK/evals"
mkdir -p "$EVALS"
K20="$SHARED/kitchen20/manifest.jsonl"
POOL="${POOL:-$WORK/pool}"  # a pool built earlier can be named with POOL=DIR
BASE="${BASE:-$ROOT/models/soundfilter}"  # the SoundFilter every row starts from (r0)
EXPANSION=--text-expansion
if [ "$SMOKE" = 1 ]; then
    EXPANSION=""  # the shipped audio bank belongs to the real corpus
    K20="$WORK/tiny-shared/fsdd/manifest.jsonl"  # three "digit" labels stand in for Kitchen20
    POOL="$CORPUS"  # the tiny corpus stands in for the pool (its clips are read without their labels)
    STEPS=2
    N=2
fi

build_pool() {
    if [ "$SMOKE" = 1 ] || [ -e "$POOL/meta.json" ]; then return 0; fi
    "$PY" scripts/corpus/unlabelled.py --corpus "$CORPUS" --out "$POOL" --shared "$SHARED" --force
}

ROW_OPTS=(
    ""
    "--label-free 0.3"
    "--label-free 0.3 --augment 1.0"
    "--label-free 0.3 --augment 1.0 --absent 0.1 --max-sources 3 --gain-db 8"
    "--label-free 0.3 --augment 1.0"
    "--label-free 0.3 --augment 1.0 --absent 0.1"
    "--label-free 0.3 --augment 1.0"
    "--label-free 0.3 --augment 1.0 --other-take 0.5"
    "--label-free 0.3 --augment 1.0 --other-take 0.5 --swap-pairs 1.0"
    "--label-free 0.3 --augment 1.0 --other-take 0.5 --swap-pairs 1.0"
    "--label-free 0.3 --augment 1.0 --other-take 0.5 --swap-pairs 1.0 --absent 0.1"
    "--label-free 0.3 --augment 1.0 --other-take 1.0 --swap-pairs 1.0"
    "--label-free 0.3 --augment 1.0 --other-take 0.5 --swap-pairs 1.0 --residual-queries 0.3"
)
ROW_OPTS[18]="--label-free 0.3 --augment 1.0 --other-take 0.5 --swap-pairs 1.0 --similar-backgrounds 0.5"
ROW_OPTS[29]="--label-free 0.3 --augment 1.0 --other-take 0.5 --swap-pairs 1.0 --similar-backgrounds 0.5 --query-lean 0.6"

train_row() {  # train_row K: row rK, warm-started from BASE (rows 5-9, 11, 12: from row 3, rows 10, 13, 19: from
    # row 9, row 30: from row 19)
    local k=$1 run="$RUNS/rw-r$1" init="$BASE" steps="$STEPS"
    if [ "$k" -ge 5 ]; then init="$MODELS/rw-r3"; fi
    if [ "$k" -ge 5 ] && [ "$k" -le 6 ]; then steps=$((3 * STEPS)); fi
    if [ "$k" -eq 10 ]; then init="$MODELS/rw-r9" steps=$((2 * STEPS)); fi
    if [ "$k" -eq 13 ] || [ "$k" -eq 19 ]; then init="$MODELS/rw-r9"; fi
    if [ "$k" -eq 30 ]; then init="$MODELS/rw-r19"; fi
    fresh "$run"
    # shellcheck disable=SC2046,SC2086
    ddp "$PY" -m sfcli train-filter --corpus "$CORPUS" --pool "$POOL" --run-dir "$run" -q \
        --init "$init" --projection --postfilter --refiner-channels 8 $EXPANSION \
        --text-rate 0.4 --lr 1e-4 --lr-schedule cosine --warmup 50 --batch-size 16 --eval-every 300 \
        --checkpoint-every 100 --valid-size 128 --steps "$steps" ${ROW_OPTS[$((k - 1))]} \
        $(smoke_filter) > "$run.json"
    rm -rf "$MODELS/rw-r$k"
    "$PY" scripts/export_filter.py "$run" "$MODELS/rw-r$k" --last
}

eval_row() {  # eval_row K: Kitchen20 (out-of-domain) and the corpus test split (in-domain)
    local k=$1 filter="$BASE"
    [ "$k" = 0 ] || filter="$MODELS/rw-r$k"
    sfcli eval "$K20" --filter "$filter" --n "$N" -q --json --force --markdown "$EVALS/r$k-k20.md" > "$EVALS/r$k-k20.json"
    sfcli eval "$CORPUS/eval/test.jsonl" --filter "$filter" -q --json > "$EVALS/r$k-test.json"
}

stage corpus "corpus (docs/data.md)" build_corpus
stage pool "label-free pool (docs/data.md)" build_pool
stage e0 "score the shipped SoundFilter" eval_row 0
for k in 1 2 3 4 5 6 7 8 9 10 11 12 13 19 30; do
    stage "r$k" "train row $k: ${ROW_OPTS[$((k - 1))]:-corpus only}" train_row "$k"
    stage "e$k" "score row $k" eval_row "$k"
done
stage table "ablation table" "$PY" scripts/ablation_table.py "$EVALS" --out "$WORK/ablation.md"
