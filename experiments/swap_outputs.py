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
import torch


def _record(sep, it, query: str, set_name: str) -> dict:
    from sfcli.evaluation import kept_db, score_mixture

    if query == "text":
        emb = sep.embed_query(text=it.text)
    elif query == "audio":
        emb = sep.embed_query(reference=it.ref, reference_sample_rate=it.ref_sample_rate)
    elif query == "absent-text":
        emb = sep.embed_query(text=it.absent_text)
    else:
        emb = sep.embed_query(reference=it.absent_ref, reference_sample_rate=it.sample_rate)
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
    ap.add_argument("--kitchen20", type=Path)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--valid-n", type=int, default=0, help="also corpus validation mixtures (seed 0)")
    ap.add_argument("--queries", nargs="+", default=["text", "audio", "absent-text", "absent-audio"])
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--summary", type=Path)
    ap.add_argument("--margins", type=float, nargs="+", default=[-1.0, 0.0, 0.05, 0.1, 0.2])
    args = ap.parse_args(argv)
    if args.summary:
        summary(args.summary, args.margins)
        return 0
    from sfcli.api import Separator
    from sfcli.data.labelled import labelled_mixtures, read_labelled
    from sfcli.evaluation import generated_mixtures

    sep = Separator.from_pretrained(args.models)
    sets = []
    if args.valid_n:
        sets.append(("valid", generated_mixtures(None, "valid", args.valid_n, 0)))
    if args.kitchen20:
        clips = read_labelled(args.kitchen20)
        sets += [(f"k20-s{s}", labelled_mixtures(clips, "paper", s, args.n)) for s in args.seeds]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as fh, torch.inference_mode():
        for name, items in sets:
            for it in items:
                for q in args.queries:
                    if (q == "absent-text" and not it.absent_text) or (q == "absent-audio" and it.absent_ref is None):
                        continue
                    fh.write(json.dumps(_record(sep, it, q, name)) + "\n")
                    fh.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
