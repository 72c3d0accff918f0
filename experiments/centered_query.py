"""Does taking the mixture's own embedding out of the query steer SoundFilter better out of domain?

    OMP_NUM_THREADS=1 python experiments/centered_query.py --kitchen20 ../shared/data/kitchen20/manifest.jsonl \
        --seeds 0 1 2 --n 100 --test-n 100 --out /tmp/centre/scores.jsonl
    python experiments/centered_query.py --summary /tmp/centre/scores.jsonl

SoundWords puts kitchen sounds close together: two Kitchen20 clips of different classes have a mean
cosine of 0.31, two corpus clips of different categories 0.02 (and two of one class 0.57 / 0.75). A
query for one kitchen sound therefore also points at the other sound of the mixture. Each variant
separates with ``unit(q - alpha * m)``, ``m`` the unit SoundWords embedding of the mixture itself, so
that what the two sounds share is taken out of the query; ``alpha`` 0 is the shipped query. The
network never saw such queries in training, so this also measures how far from its training queries
it still follows one.
"""

from __future__ import annotations

import numpy as np
from mixture_sets import query_vector, scores, unit, variant_main

ALPHAS = (0.0, 0.25, 0.5, 0.75)


def record(sep, it, query: str, set_name: str) -> dict:
    """Scores of every variant for one mixture and query."""
    absent = query.startswith("absent")
    q = unit(query_vector(sep, it, query))
    m = unit(sep.words.embed_audio([it.mixture], it.sample_rate)[0])
    row = {"set": set_name, "name": it.name, "category": it.category, "query": query, "cos_qm": float(q @ m)}
    for alpha in ALPHAS:
        qc = unit(q - alpha * m)
        t = sep.separate(it.mixture, it.sample_rate, embedding=qc, check=False).target.reshape(-1)
        row[f"alpha{alpha}"] = scores(np.asarray(t), it, absent)
    return row


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return variant_main(__doc__, record, argv)


if __name__ == "__main__":
    raise SystemExit(main())
