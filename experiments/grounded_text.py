"""Ground a text query in the recording: pick the audio-bank neighbours that are heard in the mixture.

    OMP_NUM_THREADS=1 python experiments/grounded_text.py --kitchen20 ../shared/data/kitchen20/manifest.jsonl \
        --seeds 1 --n 40 --queries text --out /tmp/gt/s1.jsonl
    python experiments/grounded_text.py --summary /tmp/gt/s1.jsonl

A text query is answered with the mean SoundWords embedding of the ``k`` audio-bank clips nearest to
its words (``sfcli.words.bank``). Variants here take a wider shortlist of ``K`` neighbours by text and
keep the ``k`` whose embeddings best match a window of the mixture (each window of the SoundWords
tower embedded on its own), or rank by text similarity plus ``lam`` times that match. Every variant was
worse on Kitchen20 (docs/notebook/realworld-ablation.md, "Grounding a text query in the recording").
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from mixture_sets import add_arguments, scores, variant_summary, write_rows

SHORTLISTS = (30, 100)
LAMBDAS = (0.5, 1.0)


def window_embeddings(words, mixture: np.ndarray, sample_rate: int) -> torch.Tensor:
    """Unit SoundWords embeddings ``(windows, dim)`` of each tower window of the mixture."""
    feats = words.clip_window_features([mixture], sample_rate)[0]
    with torch.no_grad():
        return words.project_audio(feats.to(words.device)).float().cpu()


def grounded_queries(words, text: str, wins: torch.Tensor) -> dict[str, np.ndarray]:
    """The shipped expansion and the grounded variants of one text query."""
    bank = words.audio_bank
    t = torch.as_tensor(words.embed_text([text]), dtype=torch.float32)[0]
    sims = bank.embeddings @ t
    presence = (bank.embeddings @ wins.t()).max(dim=1).values
    k = bank.k
    out = {"shipped": words.text_query([text])[0]}

    def mean_of(idx: torch.Tensor) -> np.ndarray:
        m = bank.embeddings[idx].mean(dim=0)
        return (m / m.norm()).numpy().astype(np.float32)

    for big in SHORTLISTS:
        short = torch.topk(sims, big).indices
        keep = short[torch.topk(presence[short], k).indices]
        out[f"short{big}"] = mean_of(keep)
        for lam in LAMBDAS:
            score = sims[short] + lam * presence[short]
            out[f"short{big}-l{lam}"] = mean_of(short[torch.topk(score, k).indices])
    return out


def record(sep, it, query: str, set_name: str) -> dict:
    """Scores of every variant for one mixture and text query."""
    text = it.text if query == "text" else it.absent_text
    wins = window_embeddings(sep.words, it.mixture, it.sample_rate)
    row = {"set": set_name, "name": it.name, "category": it.category, "query": query}
    for name, emb in grounded_queries(sep.words, text, wins).items():
        target = sep.separate(it.mixture, it.sample_rate, embedding=emb, check=False).target
        row[name] = scores(target, it, query.startswith("absent"))
    return row


def main() -> None:
    """Score the variants, or summarise a scores file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap, queries=("text", "absent-text"))
    args = ap.parse_args()
    if args.summary:
        variant_summary(args.summary)
        return
    from sfcli.api import Separator

    sep = Separator.from_pretrained(args.models, check_queries=False)
    write_rows(args, lambda it, q, s: record(sep, it, q, s))


if __name__ == "__main__":
    main()
