"""Query feedback: separate once, move the query towards what came out as the target and away from
what came out as the residual, and separate again (Rocchio's relevance feedback, on SoundWords vectors).

    OMP_NUM_THREADS=2 python experiments/query_feedback.py --kitchen20 ../shared/data/kitchen20/manifest.jsonl \
        --seeds 0 1 2 --n 50 --out /tmp/feedback/k20.jsonl
    python experiments/query_feedback.py --summary /tmp/feedback/k20.jsonl

For every mixture and query (text through the audio bank, audio, and the absent-sound queries) the first
pass gives a target T1 and a residual R1; with ``t``, ``r`` their unit SoundWords audio embeddings and
``q`` the unit query, each variant ``(beta, gamma)`` separates again with the query
``unit(q + beta * t - gamma * r)``. Also recorded: the shipped ``--two-pass`` target (whose second query
is ``r``), and ``--two-pass`` run from the feedback query. One JSON line per (set, mixture, query) with
SI-SDRi / SDRi per variant (``kept`` dB of the mixture's energy for the absent-sound queries).
"""

from __future__ import annotations

import numpy as np
from mixture_sets import query_vector, scores, unit, variant_main

VARIANTS = [(0.5, 0.0), (1.0, 0.0), (0.0, 0.5), (0.5, 0.5), (1.0, 0.5), (1.0, 1.0)]


def _targets(sep, it, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-pass target for ``q``, the two-pass target from ``q`` and the second pass's query (the unit
    embedding of the first residual)."""
    from sfcli.two_pass import combine

    t1 = sep.separate(it.mixture, it.sample_rate, embedding=q, check=False).target.reshape(-1)
    r = unit(sep.words.embed_audio([it.mixture - t1], it.sample_rate)[0])
    t2 = sep.separate(it.mixture, it.sample_rate, embedding=r, check=False).target.reshape(-1)
    return t1, combine(t1, it.mixture, t2), r


def record(sep, it, query: str, set_name: str) -> dict:
    """Scores of every variant for one mixture and query."""
    absent = query.startswith("absent")
    q = unit(query_vector(sep, it, query))
    t1, two, er = _targets(sep, it, q)
    et = unit(sep.words.embed_audio([t1], it.sample_rate)[0])
    row = {"set": set_name, "name": it.name, "category": it.category, "query": query}
    row["cos_t"], row["cos_r"] = float(et @ q), float(er @ q)
    row["one"] = scores(t1, it, absent)
    row["two"] = scores(two, it, absent)
    for beta, gamma in VARIANTS:
        qf = unit(q + beta * et - gamma * er)
        tf, twof, _ = _targets(sep, it, qf)
        row[f"fb{beta}-{gamma}"] = scores(tf, it, absent)
        row[f"fb{beta}-{gamma}+two"] = scores(twof, it, absent)
    return row


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return variant_main(__doc__, record, argv, n=50)


if __name__ == "__main__":
    raise SystemExit(main())
