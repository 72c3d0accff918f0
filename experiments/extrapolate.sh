#!/usr/bin/env bash
# Extrapolating along the fine-tunes: every SoundFilter since the tenth is its predecessor + 600 steps of
# real-world training, and each step raised Kitchen20 (out of domain). Does going further along that path
# in weight space, without training, raise it more, and at what cost in domain? Builds, from the tenth,
# twelfth and thirteenth versions in git, W = V13 + a * (V13 - VB) (scripts/average_filters.py with
# weights 1+a, -a), optionally with the post-filter's refiner (or everything but it) kept from V13, and
# scores each on Kitchen20 (seeds 0 1 2 x N, never trained on) and the corpus test split (in domain).
# Recorded in docs/notebook/realworld-ablation.md,
# "Extrapolating along the fine-tunes, and the small gains combined".
#
#   WORK=/tmp/wa bash experiments/extrapolate.sh          # all variants, about 5 min each on 2 idle cores
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${WORK:-/tmp/wa}" N="${N:-100}"
K20="${K20:-../shared/data/kitchen20/manifest.jsonl}" CORPUS="${CORPUS:-$HOME/.cache/sfcli/corpus}"
PY=.venv/bin/python
NET=(--keep analysis. --keep bottleneck --keep decoder. --keep encoder. --keep head. --keep inp. --keep synthesis.)
for v in 4aca7e7:10 be1c1e4:12 55c50b8:13; do  # the tenth, twelfth and thirteenth SoundFilter
    mkdir -p "$WORK/v${v#*:}"
    for f in config.json model.safetensors; do git show "${v%:*}:models/soundfilter/$f" > "$WORK/v${v#*:}/$f"; done
done
variant() {  # variant NAME BASE A [--keep ...]: V13 + A * (V13 - BASE), scored
    local name=$1 base=$2 a=$3
    shift 3
    "$PY" scripts/average_filters.py "$WORK/v13" "$WORK/$base" --weights "$("$PY" -c "print(1 + $a)")" "-$a" \
        -o "$WORK/$name" "$@" > /dev/null
    .venv/bin/sfcli eval "$K20" --filter "$WORK/$name" --n "$N" --no-irm -q --json --force > "$WORK/$name-k20.json"
    .venv/bin/sfcli eval "$CORPUS/eval/test.jsonl" --filter "$WORK/$name" --no-irm -q --json > "$WORK/$name-test.json"
}
variant ext025-10 v10 0.25
variant ext05-10 v10 0.5
variant ext1-10 v10 1.0
variant ext05-12 v12 0.5
variant ext1-12 v12 1.0
variant extnet05-10 v10 0.5 --keep refiner.   # the network only; the refiner as the thirteenth's
variant extnet1-10 v10 1.0 --keep refiner.
variant extref05-10 v10 0.5 "${NET[@]}"        # the refiner only
