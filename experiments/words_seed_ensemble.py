"""How much do held-out-category scores move between training seeds, and does averaging seeds help?

    python experiments/words_seed_ensemble.py RUN [RUN ...] [--features CACHE]

Each RUN is a ``sfcli train-words --holdout-categories 0.2`` run folder (``RUN/model``) of the same
recipe with another ``--seed``, all on one feature cache (CACHE, default ``RUN/features.pt`` of the
first run). With ``--lock-text`` the text head is the same fixed PCA in every run, so the runs share
one text space and their audio embeddings can be averaged (and re-normalised) into an ensemble.
Prints zero-shot top-1 / top-5 and text->audio R@10 (%) on the unseen-valid, unseen-test and seen
test clips for every run, their mean and standard deviation, and the ensemble.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from sfcli.train.common import load_checkpoint
from sfcli.train.words import corpus_sources, holdout_split, split_sources
from sfcli.words import SoundWords
from sfcli.words_eval import EvalRecord, evaluate_embeddings

KEYS = ("zeroshot_top1", "zeroshot_top5", "t2a_R@10")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--features", type=Path, default=None)
    a = ap.parse_args()
    blob = load_checkpoint(a.features or a.runs[0] / "features.pt")
    if blob is None:
        raise SystemExit("no feature cache found")
    feats = blob["features"]
    kept, unseen_valid, unseen_test = holdout_split(corpus_sources(), 0.2)
    sets = {"unseen-valid": unseen_valid, "unseen-test": unseen_test, "seen test": split_sources(kept)["test"]}
    records = {name: [EvalRecord(s.descriptions, s.category) for s in src] for name, src in sets.items()}
    models = [SoundWords.from_pretrained(r / "model").eval() for r in a.runs]
    probe = ["a dog barking", "rain falling"]
    with torch.no_grad():
        ref = models[0].project_text(models[0].text_features(probe)).cpu().numpy()
        for r, m in zip(a.runs[1:], models[1:], strict=True):
            other = m.project_text(m.text_features(probe)).cpu().numpy()
            if not np.allclose(ref, other, atol=2e-3):  # fp16 weights
                raise SystemExit(f"{r}: another text space than {a.runs[0]} (train with --lock-text)")

    def text_embed(texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            return models[0].project_text(models[0].text_features(texts)).cpu().numpy()

    audio: dict[str, list[np.ndarray]] = {name: [] for name in sets}
    for m in models:
        with torch.no_grad():
            for name, src in sets.items():
                audio[name].append(m.embed_window_features([feats[s.key].float() for s in src]).cpu().numpy())

    def row(label: str, per_set: dict[str, np.ndarray]) -> list[float]:
        vals = []
        for name in sets:
            met = evaluate_embeddings(per_set[name], records[name], text_embed)
            vals += [100 * met[k] for k in KEYS]
        print(f"| {label} | " + " | ".join(f"{v:.1f}" for v in vals) + " |", flush=True)
        return vals

    print("| model | " + " | ".join(f"{k} zs@1 | {k} zs@5 | {k} t→a R@10" for k in sets) + " |")
    print("|---|" + "---|---|---|" * len(sets))
    rows = [row(r.name, {name: audio[name][i] for name in sets}) for i, r in enumerate(a.runs)]
    mean, std = np.mean(rows, axis=0), np.std(rows, axis=0, ddof=1) if len(rows) > 1 else np.zeros(len(rows[0]))
    print("| mean ± std | " + " | ".join(f"{m:.1f} ± {s:.1f}" for m, s in zip(mean, std, strict=True)) + " |")
    ens = {}
    for name in sets:
        avg = np.mean(audio[name], axis=0)
        ens[name] = avg / np.linalg.norm(avg, axis=1, keepdims=True)
    row(f"ensemble of {len(a.runs)}", ens)


if __name__ == "__main__":
    main()
