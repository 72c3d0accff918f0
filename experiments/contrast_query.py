"""Does a second pass, queried for "the other sound", fix the mixtures that come out the wrong way round?

    OMP_NUM_THREADS=1 python experiments/contrast_query.py --kitchen20 ../shared/data/kitchen20/manifest.jsonl \
        --seeds 0 1 --n 100 --out /tmp/contrast/scores.jsonl
    python experiments/contrast_query.py --summary /tmp/contrast/scores.jsonl

Pass 1 separates the mixture with the user's query q: (t1, r1). Pass 2 queries the same mixture with
the SoundWords embedding of r1 (what pass 1 thinks is "everything else"): (t2, r2); pass 3 with the
embedding of (r1 + t2) / 2, the two passes' estimate of the other sound: (t3, r3). SoundFilter was
trained with swapped pairs (the same mixture queried for each of its sounds), so where it understood
the query, r2 is again the target; where it hands back the most salient sound whatever the query, t1
and t2 are the same sound. Combined targets recorded per mixture: plain t1, the hedge (t1 + r2) / 2
(what ``sfcli separate --two-pass`` does, there with a sampled residual), weighted hedges, r2 alone,
and hedges with r3; the residual of each is the mixture minus it, so outputs still add up to the input.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from mixture_sets import query_vector, unit, variant_main


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))


def _record(sep, it, query: str, set_name: str) -> dict:
    from sfcli.evaluation import kept_db, score_mixture

    q = query_vector(sep, it, query)
    mix = it.mixture
    p1 = sep.separate(mix, it.sample_rate, embedding=q, check=False)
    t1, r1 = p1.target.reshape(-1), p1.residual.reshape(-1)
    emb = sep.words.embed_audio([t1, r1, mix], it.sample_rate)
    q_other = unit(emb[1])
    p2 = sep.separate(mix, it.sample_rate, embedding=q_other, check=False)
    t2, r2 = p2.target.reshape(-1), p2.residual.reshape(-1)
    q_again = unit(sep.words.embed_audio([0.5 * (r1 + t2)], it.sample_rate)[0])
    r3 = sep.separate(mix, it.sample_rate, embedding=q_again, check=False).residual.reshape(-1)
    row = {
        "set": set_name,
        "name": it.name,
        "category": it.category,
        "query": query,
        "corr_t1_r2": _corr(t1, r2),
        "cos_t1_q": float(unit(emb[0]) @ unit(q)),
        "cos_r1_q": float(unit(emb[1]) @ unit(q)),
    }
    outputs = {
        "plain": t1,
        "hedge": 0.5 * (t1 + r2),
        "second": r2,
        "hedge_w60": 0.6 * t1 + 0.4 * r2,
        "hedge_w70": 0.7 * t1 + 0.3 * r2,
        "iterated": 0.5 * (t1 + r3),
        "three": (t1 + r2 + r3) / 3,
    }
    for name, target in outputs.items():
        if query.startswith("absent"):
            row[name] = kept_db(target, mix)
        else:
            row[name] = score_mixture(target, mix - target, it)["target_si_sdri"]
    return row


def summary(path: Path) -> None:
    """Per set and query: mean SI-SDRi (absent queries: kept dB) of each way to form the target."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    keys = [k for k in rows[0] if k not in ("set", "name", "category", "query") and not k.startswith(("corr", "cos"))]
    for key in sorted({(r["set"], r["query"]) for r in rows}):
        sel = [r for r in rows if (r["set"], r["query"]) == key]
        cells = [f"{k} {np.mean([r[k] for r in sel]):6.2f}" for k in keys]
        print(f"{key[0]:10s} {key[1]:12s} n={len(sel):4d} | " + " | ".join(cells))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    queries = ("text", "audio", "absent-text")
    return variant_main(__doc__, _record, argv, summary=summary, seeds=(0, 1), queries=queries)


if __name__ == "__main__":
    raise SystemExit(main())
