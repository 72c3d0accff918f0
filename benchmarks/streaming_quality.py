"""Separation quality of the streaming engine on mixtures longer than one 2 s window.

    OMP_NUM_THREADS=1 python benchmarks/streaming_quality.py --split valid --n 100 \\
        --seconds 3.5 4 6 10 --overlaps 0 0.5 1.0

The corpus evaluation mixtures are exactly one window long, so they never exercise window
boundaries, the cross-fade or the end of a file. Here every 2 s mixture of a split (generated as
``sfcli eval --split`` does) is looped to the requested length — its target and background looped the
same way, then cut starting at 0.7 s so that loop points and window boundaries do not coincide —
and separated with an audio query (the mixture's reference clip; ``--query text``: its text, through
the audio bank as ``sfcli separate --text`` does) at each overlap. Prints one JSON line per (length,
overlap) with the mean target SI-SDRi over the whole looped mixture.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import torch


def looped(x: np.ndarray, n: int, offset: int) -> np.ndarray:
    """``x`` repeated end to end and cut to ``n`` samples starting at ``offset``."""
    reps = -(-(n + offset) // x.shape[0])
    return np.tile(x, reps)[offset : offset + n]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=None, help="models folder (default: shipped)")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seconds", type=float, nargs="+", default=[3.5, 4.0, 6.0, 10.0])
    ap.add_argument("--overlaps", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    ap.add_argument("--windows", type=float, nargs="+", default=[2.0], help="window lengths in seconds")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--query", choices=["audio", "text"], default="audio")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from sfcli.api import Separator
    from sfcli.evaluation import generated_mixtures
    from sfcli.metrics import si_sdr_np

    sep = Separator.from_pretrained(args.models)
    items = generated_mixtures(None, args.split, args.n, args.seed)
    if args.query == "text":
        queries = [sep.embed_query(text=it.text) for it in items]
    else:
        queries = [sep.embed_query(reference=it.ref, reference_sample_rate=it.ref_sample_rate) for it in items]
    for seconds, window, overlap in itertools.product(args.seconds, args.windows, args.overlaps):
        if overlap >= window:
            continue
        sep.window_seconds, sep.overlap_seconds = window, overlap
        t0 = time.time()
        scores = []
        for it, q in zip(items, queries, strict=True):
            n, off = round(seconds * it.sample_rate), round(0.7 * it.sample_rate)
            tgt, bg = looped(it.target, n, off), looped(it.background, n, off)
            mix = tgt + bg
            res = sep.separate(mix, it.sample_rate, embedding=q)
            scores.append(si_sdr_np(res.target, tgt) - si_sdr_np(mix, tgt))
        row = {
            "split": args.split,
            "mixtures": len(items),
            "seconds": seconds,
            "window": window,
            "overlap": overlap,
            "query": args.query,
            "target_si_sdri": round(float(np.mean(scores)), 2),
            "wall_s": round(time.time() - t0, 1),
        }
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
