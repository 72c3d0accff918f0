#!/usr/bin/env bash
# One call on a lent GPU machine: unpack the carried corpus chunks, then train SoundFilter runs A and B
# side by side on the one GPU (each with its own data-loading workers) and export their selected weights
# (fp16) to $OUT. Settings come from the environment:
#   CHUNK=c0|c1  MINUTES=training wall time  STEPS_A / STEPS_B  (cosine schedules end there)
#   A_ARGS / B_ARGS  replace each run's own options (default: the 2026-11-25 runs: A warm-started from
#                    models/soundfilter at lr 3e-4, B a C = 64 network from scratch at lr 1e-3)
#   B_WORDS  a SoundWords folder for run B (its text-embedding cache: B_WORDS/text_embeddings.pt)
set -uo pipefail
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
if [ -z "${SKIP_PIP:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site:/tmp/aisite:$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import torch, numpy, typer, soundfile, soxr; print('torch', torch.__version__, 'numpy', numpy.__version__, 'typer', typer.__version__, 'cuda', torch.cuda.is_available())"
t0=$(date +%s)
rm -rf /tmp/runs; mkdir -p /tmp/aisite
python3 scripts/gpu/unpack_corpus.py --index .gpu/common --src ".gpu/$CHUNK" --dst /tmp/corpus --keep /tmp/chunks || exit 1
b_words=(); b_prep=()
if [ -n "${B_WORDS:-}" ]; then
  b_words=(--words "$B_WORDS"); b_prep=(--words "$B_WORDS" --text-embeddings "$B_WORDS/text_embeddings.pt")
fi
python3 scripts/gpu/device_prep.py --carried .gpu/common --site /tmp/aisite --run /tmp/runs/A || exit 1
python3 scripts/gpu/device_prep.py --carried .gpu/common --site /tmp/aisite --run /tmp/runs/B "${b_prep[@]}" || exit 1
echo "setup took $(( $(date +%s) - t0 )) s"
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader -l 10 > /tmp/smi.txt 2>&1 &
common=(--corpus /tmp/corpus --projection --text-expansion --text-rate 0.4 --lr-schedule cosine
        --batch-size 64 --eval-every 500 --checkpoint-every 500 --valid-size 256 --device "${DEVICE:-cuda}"
        --workers "${WORKERS:-7}" --max-minutes "$MINUTES")
read -r -a a_args <<< "${A_ARGS:---init models/soundfilter --lr 3e-4 --warmup 200 --steps $STEPS_A}"
read -r -a b_args <<< "${B_ARGS:---channels 64 --max-channels 512 --lr 1e-3 --warmup 500 --steps $STEPS_B}"
python3 -m sfcli train-filter "${common[@]}" --run-dir /tmp/runs/A "${a_args[@]}" > /tmp/A.json 2> /tmp/A.log &
pa=$!
python3 -m sfcli train-filter "${common[@]}" --run-dir /tmp/runs/B "${b_words[@]}" "${b_args[@]}" \
    > /tmp/B.json 2> /tmp/B.log &
pb=$!
wait $pa; echo "A exit $?"; wait $pb; echo "B exit $?"
kill %1 2>/dev/null
for r in A B; do
  cat /tmp/$r.json; tail -n 30 /tmp/$r.log
  python3 scripts/export_filter.py /tmp/runs/$r "$OUT/$r" > /tmp/$r.export.json && mv /tmp/$r.export.json "$OUT/$r/run.json"
  cp /tmp/$r.log "$OUT/$r.log"
done
cat /tmp/smi.txt
ls -la "$OUT" "$OUT"/*
