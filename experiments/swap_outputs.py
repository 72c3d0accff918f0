"""Do SoundFilter's two outputs come out the wrong way round, and can SoundWords tell?

    OMP_NUM_THREADS=2 python experiments/swap_outputs.py --kitchen20 ../shared/data/kitchen20/manifest.jsonl \
        --seeds 0 1 2 --n 100 --valid-n 300 --out /tmp/swap/scores.jsonl

On out-of-domain mixtures SoundFilter's SI-SDRi is bimodal: about half the mixtures come out well
(> 3 dB) and a quarter below -5 dB, where the *target* output holds mostly the background. For every
mixture and query (text, audio) this records the SI-SDRi of the target output, the SI-SDRi the
*residual* would have as the target (outputs swapped), and the SoundWords cosines of the query with
the target output, the residual output and the mixture (whole-clip audio embeddings). One JSON line
per (set, mixture, query); ``--summary FILE`` reads such a file back and prints what a swap rule
"swap when cos(residual, q) - cos(target, q) > margin" would give per set.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from mixture_sets import add_arguments, query_vector, write_rows


def _record(sep, it, query: str, set_name: str) -> dict:
    from sfcli.evaluation import kept_db, score_mixture

    emb = query_vector(sep, it, query)
    res = sep.separate(it.mixture, it.sample_rate, embedding=emb, check=False)
    t, r = res.target.reshape(-1), res.residual.reshape(-1)
    q = emb / max(float(np.linalg.norm(emb)), 1e-12)
    cos = sep.words.embed_audio([t, r, it.mixture], it.sample_rate) @ q
    row = {
        "set": set_name,
        "name": it.name,
        "category": it.category,
        "query": query,
        "cos_t": float(cos[0]),
        "cos_r": float(cos[1]),
        "cos_m": float(cos[2]),
        "energy_t": float(np.sum(t**2) / max(np.sum(it.mixture**2), 1e-12)),
    }
    if query.startswith("absent"):
        row |= {"kept": kept_db(t, it.mixture), "kept_swapped": kept_db(r, it.mixture)}
    else:
        plain, swapped = score_mixture(t, r, it), score_mixture(r, t, it)
        row |= {
            "si_sdri": plain["target_si_sdri"],
            "si_sdri_swapped": swapped["target_si_sdri"],
            "sdri": plain["target_sdri"],
            "sdri_swapped": swapped["target_sdri"],
        }
    return row


def summary(path: Path, margins: list[float]) -> None:
    """Print, per set and query, mean SI-SDRi / kept dB under 'swap when cos_r - cos_t > margin'."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for key in sorted({(r["set"], r["query"]) for r in rows}):
        sel = [r for r in rows if (r["set"], r["query"]) == key]
        d = np.array([r["cos_r"] - r["cos_t"] for r in sel])
        absent = key[1].startswith("absent")
        a, b = ("kept", "kept_swapped") if absent else ("si_sdri", "si_sdri_swapped")
        x, y = np.array([r[a] for r in sel]), np.array([r[b] for r in sel])
        cells = []
        for m in margins:
            s = d > m
            cells.append(f"m={m:+.2f}: {np.where(s, y, x).mean():6.2f} ({s.mean() * 100:4.1f}% swapped)")
        print(
            f"{key[0]:10s} {key[1]:13s} n={len(sel):4d} none {x.mean():6.2f} oracle "
            f"{(np.minimum if absent else np.maximum)(x, y).mean():6.2f} | " + " | ".join(cells)
        )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(ap)
    ap.add_argument("--margins", type=float, nargs="+", default=[-1.0, 0.0, 0.05, 0.1, 0.2])
    args = ap.parse_args(argv)
    if args.summary:
        summary(args.summary, args.margins)
        return 0
    from sfcli.api import Separator

    sep = Separator.from_pretrained(args.models)
    write_rows(args, lambda it, q, name: _record(sep, it, q, name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
