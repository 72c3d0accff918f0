# Shared by the recipes (sourced, not run): options, the stage runner and the --smoke overrides.
#
# Options of every recipe:
#   --work DIR     where runs, models and markers go (default: $SFCLI_CACHE/recipes/NAME, or
#                  ~/.cache/sfcli/recipes/NAME); the models it produces end up in DIR/models/
#   --corpus DIR   the corpus to train on (built there first when it holds none; default DIR/corpus)
#   --shared DIR   folder with fsdd/ and donateacry/ for the corpus build (default: ../shared/data)
#   --stages LIST  run only these stages (comma-separated ids, e.g. f05,f08), even if already done
#   --smoke        every stage for a few steps on a tiny synthetic corpus (minutes -> seconds); the
#                  test suite runs this (tests/test_recipes.py)
# A stage that finished leaves DIR/done/ID and is skipped when the recipe is run again; an
# interrupted training stage continues from its checkpoint (train-words / train-filter resume).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
SMOKE=0
WORK=""
CORPUS=""
SHARED="$ROOT/../shared/data"
STAGES=""

recipe_args() {  # recipe_args NAME "$@"
    local name=$1
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
            --work | --corpus | --shared | --stages)
                [ $# -ge 2 ] || { echo "error: $1 needs a value (see --help)" >&2; exit 2; } ;;
        esac
        case "$1" in
            --smoke) SMOKE=1 ;;
            --work) WORK=$2; shift ;;
            --corpus) CORPUS=$2; shift ;;
            --shared) SHARED=$2; shift ;;
            --stages) STAGES=$2; shift ;;
            -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
            *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
        esac
        shift
    done
    WORK="${WORK:-${SFCLI_CACHE:-$HOME/.cache/sfcli}/recipes/$name}"
    mkdir -p "$WORK/done" "$WORK/runs" "$WORK/models"
    WORK="$(cd "$WORK" && pwd)"
    RUNS="$WORK/runs"
    MODELS="$WORK/models"
    if [ "$SMOKE" = 1 ]; then
        CORPUS="${CORPUS:-$WORK/corpus}"
        export SFCLI_CACHE="$WORK/cache"  # nothing of the real cache is read or written
        export OMP_NUM_THREADS=1
    fi
    CORPUS="${CORPUS:-$WORK/corpus}"
    cd "$ROOT"
}

selected() {  # selected ID: is this stage in --stages (or are all stages selected)?
    [ -z "$STAGES" ] || [[ ",$STAGES," == *",$1,"* ]]
}

stage() {  # stage ID "what it does" FUNCTION [ARGS...]
    local id=$1 what=$2
    shift 2
    if [ -n "$STAGES" ]; then
        selected "$id" || return 0
    elif [ -e "$WORK/done/$id" ]; then
        echo "== $id done earlier: $what"
        return 0
    fi
    echo "== $id $(date -u +%H:%M:%S) $what"
    "$@"
    touch "$WORK/done/$id"
}

fresh() {  # fresh RUN_DIR: a stage named in --stages restarts its run instead of continuing it
    if [ -n "$STAGES" ]; then rm -rf "$1"; fi
}

sfcli() {  # the CLI of this checkout
    "$PY" -m sfcli "$@"
}

# What --smoke appends to each command (the last occurrence of an option wins).
smoke_words() { [ "$SMOKE" = 1 ] && echo "--steps 3 --eval-every 2 --checkpoint-every 2 --batch-size 8" || true; }
smoke_filter() {
    [ "$SMOKE" = 1 ] && echo "--steps 2 --eval-every 2 --checkpoint-every 1 --valid-size 2 --batch-size 2 --device cpu --workers 0" || true
}

ddp() {  # ddp COMMAND...: two processes x one thread (torchrun), as the CPU stages ran; one process in --smoke
    if [ "$SMOKE" = 1 ]; then
        "$@"
    else
        OMP_NUM_THREADS=1 "$(dirname "$PY")/torchrun" --nproc_per_node 2 --no-python "$@"
    fi
}

build_corpus() {  # the corpus every recipe starts from (docs/data.md); skipped when --corpus names a built one
    if [ -e "$CORPUS/meta.json" ]; then
        echo "corpus: $CORPUS (already built)"
    elif [ "$SMOKE" = 1 ]; then
        "$PY" recipes/make_tiny_shared.py "$WORK/tiny-shared"
        "$PY" scripts/corpus/build.py --no-debian --no-synth --shared "$WORK/tiny-shared" --out "$CORPUS" \
            --cache "$WORK/cache" --eval-n 4 --jobs 1
    else
        # Debian packages (apt-get download: needs the network), synthesis (fluidsynth, espeak-ng,
        # flite) and FSDD / Donate-a-Cry from --shared. A build today may differ from the one the
        # shipped models saw (2026-11-25 03:11 UTC: 13,448 clips, 10.4 h, 325 categories) if the
        # Debian packages changed since.
        "$PY" scripts/corpus/build.py --shared "$SHARED" --out "$CORPUS"
    fi
}
