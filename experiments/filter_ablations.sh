#!/usr/bin/env bash
# SoundFilter ablations and seed spread at a small, equal budget (docs/results.md, "Ablations").
#
# Every run: from scratch, shipped SoundWords, corpus train split, batch 8, Adam 1e-3 (constant after
# 100 warm-up steps), training text rate 0.3, 2,067 steps (= what the shipped configuration reaches in
# 25 single-thread minutes), one torch thread, last weights scored on the 300 corpus test mixtures.
#
#   bash experiments/filter_ablations.sh [RUN_NAME ...]     # default: all runs below, in this order
#
# Runs go to $SFCLI_CACHE/runs/abl/NAME (resumable: the same command continues a killed run); each
# writes NAME.eval.json and NAME.md beside it. Run from the repository root with the venv active.
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
R="${SFCLI_CACHE:-$HOME/.cache/sfcli}/runs/abl"
mkdir -p "$R"

declare -A ARGS=(
  [seed0]="--projection --seed 0"                       # shipped recipe (exact mixture-consistency projection)
  [seed1]="--projection --seed 1"
  [seed2]="--projection --seed 2"
  [soft-consistency]=""                                  # the paper's recipe: soft SNR consistency loss
  [no-consistency]="--no-consistency-loss"              # paper ablation "- consistency loss"
  [no-residual]="--projection --no-residual-output"     # paper ablation "- suppressed audio output"
)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(no-residual soft-consistency seed1 no-consistency seed2 seed0)

for name in "${names[@]}"; do
  [ -n "${ARGS[$name]+x}" ] || { echo "unknown run: $name (one of: ${!ARGS[*]})" >&2; exit 2; }
  echo "== $name start $(date -u +%H:%M:%S)"
  # shellcheck disable=SC2086
  sfcli train-filter --words models/soundwords --run-dir "$R/$name" ${ARGS[$name]} --batch-size 8 \
    --eval-every 100000 --valid-size 8 --steps 2067 -q > "$R/$name.train.json" 2> "$R/$name.train.log"
  python scripts/export_filter.py "$R/$name" "$R/$name-model" --fp32 >> "$R/$name.train.log"
  sfcli eval separation --filter "$R/$name-model" --words models/soundwords --json --no-irm --force \
    --markdown "$R/$name.md" -q > "$R/$name.eval.json" 2> "$R/$name.eval.log"
  echo "== $name done $(date -u +%H:%M:%S)"
done

# Seed spread of the shipped recipe, mean ± std from sfcli eval itself (one row per run and the mean).
if [ -d "$R/seed0-model" ] && [ -d "$R/seed1-model" ] && [ -d "$R/seed2-model" ]; then
  sfcli eval separation --filter "$R/seed0-model" --filter "$R/seed1-model" --filter "$R/seed2-model" \
    --words models/soundwords --json --no-irm --force --markdown "$R/seeds.md" -q > "$R/seeds.eval.json"
fi
