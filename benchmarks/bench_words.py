"""Evaluate a SoundWords model on a corpus split or a manifest, and time it.

    python benchmarks/bench_words.py --split test                     # shipped model, corpus test split
    python benchmarks/bench_words.py --models DIR --manifest m.jsonl  # any JSONL manifest (its test split)

Prints one JSON object: the :mod:`sfcli.words_eval` metrics (full clips, every window averaged),
plus load time, text-embedding latency and the audio tower's real-time factor on this machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=None, help="model folder (default: shipped models/)")
    ap.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: $SFCLI_CACHE/corpus)")
    ap.add_argument("--manifest", type=Path, default=None, help="a JSONL manifest instead of the corpus")
    ap.add_argument("--split", default="test", help="which split to evaluate (train, valid, test)")
    ap.add_argument("--limit", type=int, default=0, help="evaluate at most this many clips (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--template", default="{}", help='zero-shot prompt template, e.g. "the sound of {}"')
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from sfcli.train.words import corpus_sources, manifest_sources, split_of
    from sfcli.words import SoundWords
    from sfcli.words_eval import evaluate_words

    if args.manifest is not None:
        sources = manifest_sources(args.manifest)
    else:
        sources = corpus_sources(args.corpus) if args.corpus else corpus_sources()
    split = split_of(args.split)
    records = [s for s in sources if split_of(s.split) == split]
    if args.limit:
        records = records[: args.limit]
    if not records:
        print(f"no clips in split {args.split!r}", file=sys.stderr)
        return 1

    t0 = time.perf_counter()
    sw = SoundWords.from_pretrained(args.models)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sw.embed_text(["owl hooting"])
    first_text_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sw.embed_text([f"benchmark query {i}" for i in range(64)])
    text_ms = (time.perf_counter() - t0) / 64 * 1000

    audio_seconds = 0.0

    def audio_fn(s):  # type: ignore[no-untyped-def]
        nonlocal audio_seconds
        clip, sr = s.load()
        audio_seconds += np.asarray(clip).shape[-1] / sr
        return clip, sr

    t0 = time.perf_counter()
    metrics = evaluate_words(
        sw, [_as_record(s) for s in records], lambda r: audio_fn(r["source"]), template=args.template
    )
    eval_s = time.perf_counter() - t0
    out = {
        "split": split,
        **metrics,
        "load_s": round(load_s, 2),
        "first_text_s": round(first_text_s, 2),
        "text_ms_per_query": round(text_ms, 2),
        "audio_seconds": round(audio_seconds, 1),
        "eval_s": round(eval_s, 1),
        "audio_rtf": round(eval_s / max(audio_seconds, 1e-9), 4),
        "categories": sorted({s.category for s in records if s.category}),
    }
    print(json.dumps(out, indent=2))
    return 0


def _as_record(s):  # type: ignore[no-untyped-def]
    return {"descriptions": s.descriptions, "category": s.category, "source": s}


if __name__ == "__main__":
    sys.exit(main())
