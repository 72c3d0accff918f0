# Shared by experiments/bf16_convergence.sh, combined_recipe.sh, context_units.sh, procedural.sh, query_lean.sh,
# query_noise.sh, similar_backgrounds.sh and similar_pool.sh
# (source it after `cd` to the repository root): one 2-process x 1-thread train-filter run with the shipped architecture, exported at
# its last step, and its scoring on Kitchen20 (out-of-domain) and the corpus test split (in-domain).
# Settings: STEPS, N, WORK, CORPUS, POOL, K20, INIT (the model `train` starts from).
STEPS="${STEPS:-600}" N="${N:-100}" WORK="${WORK:-/tmp/bf16}" INIT="${INIT:-models/soundfilter}"
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

train() {  # train NAME [OPTIONS...]: INIT (the shipped model by default) + the shipped (row r9) recipe
    fit "$@" -q --pool "$POOL" --init "$INIT" --lr 1e-4 --lr-schedule cosine --warmup 50 \
        --eval-every 300 --label-free 0.3 --augment 1.0 --other-take 0.5 --swap-pairs 1.0
}

score() {  # score NAME
    local m="$WORK/model-$1"
    .venv/bin/sfcli eval "$K20" --filter "$m" --n "$N" -q --json > "$WORK/$1-k20.json"
    .venv/bin/sfcli eval "$CORPUS/eval/test.jsonl" --filter "$m" -q --json > "$WORK/$1-test.json"
}
