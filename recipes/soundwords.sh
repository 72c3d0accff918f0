#!/usr/bin/env bash
# SoundWords, the shipped models/soundwords, from a fresh clone: corpus build, the first version
# (whose embeddings conditioned SoundFilter's stage 1; recipes/soundfilter.sh needs it), the shipped
# second version, and its audio bank. Lineage and scores: models/soundwords/README.md.
#
#   bash recipes/soundwords.sh [--work DIR] [--corpus DIR] [--shared DIR] [--stages LIST] [--smoke]
#
# Stages: corpus (build the corpus), w1 (first version, 3000 steps), w2 (shipped version, 1000
# steps, locked text head), bank (audio bank of the train clips into DIR/models/soundwords),
# w-eval (its scores on the test split). On 2 CPU cores: corpus ~1 h (downloads included), w1 and
# w2 ~15 min for the shared feature cache, seconds for the heads, bank ~20 min.
#
# Differences from the runs behind the shipped model:
# * w1 ran on the code of 2026-11-25 (git f23f6e5); today's train-words defaults may differ from the
#   defaults it had, and that version kept a fp16 copy of the aiSFX weights (now read from the wheel).
# * the corpus is rebuilt from today's Debian packages (see recipes/lib.sh).
# Options: recipes/lib.sh.
source "$(dirname "$0")/lib.sh"
recipe_args soundwords "$@"
if [ "$SMOKE" = 1 ]; then export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1; fi

words_v1() {
    # As in git show f23f6e5:models/soundwords/README.md ("Command"), with the feature cache shared
    # with w2 (--cache-dir: the cached features depend only on the frozen backbones).
    # shellcheck disable=SC2046
    sfcli train-words --corpus "$CORPUS" --run-dir "$RUNS/words-v1" --cache-dir "$RUNS/words-feats" \
        --steps 3000 --batch-size 512 --eval-every 100 --checkpoint-every 100 --test-eval -q \
        $(smoke_words) > "$RUNS/words-v1.json"
    rm -rf "$MODELS/soundwords-v1"
    cp -r "$RUNS/words-v1/model" "$MODELS/soundwords-v1"
}

words_v2() {
    # models/soundwords/README.md, "Training" (the shipped model is the run's best step, 950).
    # shellcheck disable=SC2046
    sfcli train-words --corpus "$CORPUS" --run-dir "$RUNS/words-v2" --cache-dir "$RUNS/words-feats" \
        --lock-text --head-dropout 0.5 --weight-decay 0.3 --lr 3e-4 --steps 1000 --eval-every 50 \
        --checkpoint-every 100 --test-eval -q $(smoke_words) > "$RUNS/words-v2.json"
    rm -rf "$MODELS/soundwords"
    cp -r "$RUNS/words-v2/model" "$MODELS/soundwords"
}

audio_bank() {
    # models/soundwords/README.md, "Audio bank" (k = 10, text weight 0).
    "$PY" scripts/make_audio_bank.py "$MODELS/soundwords" --corpus "$CORPUS" --k 10 --text-weight 0
}

words_eval() {
    sfcli eval words --words "$MODELS/soundwords" --corpus "$CORPUS" --split test --json > "$WORK/soundwords-test.json"
}

stage corpus "build the corpus" build_corpus
stage w1 "SoundWords, first version (conditions SoundFilter stage 1)" words_v1
stage w2 "SoundWords, shipped version" words_v2
stage bank "audio bank of the train clips" audio_bank
stage w-eval "scores on the test split" words_eval
echo "SoundWords: $MODELS/soundwords (scores: $WORK/soundwords-test.json)"
