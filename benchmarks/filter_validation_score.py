"""Score SoundFilter model folders on a train-filter run's fixed validation set.

Rebuilds the validation mixtures exactly as ``sfcli train-filter`` does for the given seed, size, text
rate and ``--text-expansion`` setting, and prints the same metrics the run logs (SoundWords embedding
distance of the target outputs, SI-SDRi). Used to compare a shipped model with a new run's checkpoints
on the run's own validation set before the test set is touched:

    OMP_NUM_THREADS=1 python benchmarks/filter_validation_score.py MODEL_DIR [MODEL_DIR ...] \\
        --valid-size 256 --text-rate 0.4 --text-expansion [--postfilter]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from sfcli.filter_model import SoundFilter
from sfcli.train.filter import ConditioningCache, TextExpander, build_validation, corpus_datasets, validate
from sfcli.words import SoundWords


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("filters", nargs="+", type=Path, help="SoundFilter model folders")
    parser.add_argument("--words", type=Path, default=None, help="SoundWords folder (default: shipped)")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: $SFCLI_CACHE/corpus)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--valid-size", type=int, default=64)
    parser.add_argument("--text-rate", type=float, default=0.3)
    parser.add_argument("--text-expansion", action="store_true")
    parser.add_argument("--postfilter", action="store_true", help="score after the spectral post-filter")
    args = parser.parse_args()
    words = SoundWords.from_pretrained(args.words)
    train, valid, _ = corpus_datasets(args.corpus, args.seed)
    expander = TextExpander.for_corpus(words.audio_bank, train.corpus) if args.text_expansion else None
    cache = ConditioningCache(words, train.sample_rate, expander=expander)
    val = build_validation(valid, cache, args.valid_size, args.seed, args.text_rate)
    if val is None:
        raise SystemExit("the corpus has no validation mixtures")
    for folder in args.filters:
        model = SoundFilter.from_pretrained(folder).float()
        metrics = validate(model, val, words, train.sample_rate, torch.device("cpu"), postfilter=args.postfilter)
        print(json.dumps({"model": str(folder), **{k: round(v, 4) for k, v in metrics.items()}}), flush=True)


if __name__ == "__main__":
    main()
