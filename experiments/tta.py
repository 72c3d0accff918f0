"""Does averaging SoundFilter over shifted and sign-flipped copies of the input help out of domain?

    OMP_NUM_THREADS=2 python experiments/tta.py --kitchen20 ../shared/data/kitchen20/manifest.jsonl \
        --seeds 0 1 --n 100 --valid-n 150 --out /tmp/tta/scores.jsonl
    python experiments/tta.py --summary /tmp/tta/scores.jsonl

The network downsamples by 256 samples in all (a learned filterbank of hop 16, then strides 2-2-4), so
it is not equivariant to shifts below that grid, and nothing makes it odd (``f(-x) = -f(x)``). Demucs
averages its outputs over random time shifts of the input for this reason (``--shifts``). Each variant
here separates a copy of the whole mixture delayed circularly by ``d`` samples (``d`` < 256, so the
wrap-around is at most 12 ms at the very start) and/or negated, undoes the shift and the sign, and
averages the targets: every average still sums with ``mixture - target`` to the mixture.
"""

from __future__ import annotations

import numpy as np
from mixture_sets import query_vector, scores, variant_main

SHIFTS = (0, 64, 128, 192)
COMBOS = {
    "base": [(0, 1)],
    "flip": [(0, 1), (0, -1)],
    "shift2": [(0, 1), (128, 1)],
    "shift4": [(d, 1) for d in SHIFTS],
    "flip_shift2": [(0, 1), (0, -1), (128, 1), (128, -1)],
    "all8": [(d, s) for d in SHIFTS for s in (1, -1)],
}


def record(sep, it, query: str, set_name: str) -> dict:
    """Scores of every combination of shifted / negated copies for one mixture and query."""
    absent = query.startswith("absent")
    q = query_vector(sep, it, query)
    x = np.asarray(it.mixture, dtype=np.float32)
    outs = {}
    for d in SHIFTS:
        for sign in (1, -1):
            xs = sign * np.roll(x, d)
            t = sep.separate(xs, it.sample_rate, embedding=q, check=False).target.reshape(-1)
            outs[(d, sign)] = sign * np.roll(np.asarray(t, dtype=np.float64), -d)
    row = {"set": set_name, "name": it.name, "category": it.category, "query": query}
    for name, parts in COMBOS.items():
        t = np.mean([outs[p] for p in parts], axis=0).astype(np.float32)
        row[name] = scores(t, it, absent)
    return row


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return variant_main(__doc__, record, argv)


if __name__ == "__main__":
    raise SystemExit(main())
