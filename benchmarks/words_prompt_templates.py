"""Does wording the category names differently (or averaging several wordings) help zero-shot?

    python benchmarks/words_prompt_templates.py RUN [--features CACHE]

RUN is a ``sfcli train-words --holdout-categories 0.2`` run folder (``RUN/model``), CACHE its audio
feature cache (default ``RUN/features.pt``; the hold-out sweep's runs share ``RUNS/features/features.pt``).
Zero-shot top-1 / top-5 (%) on the unseen-valid, unseen-test and seen test clips for each prompt
template and for the average of the template embeddings (re-normalised), as in CLIP's prompt ensembles.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from sfcli.train.common import load_checkpoint
from sfcli.train.words import PairSource, corpus_sources, holdout_split, split_sources
from sfcli.words import SoundWords
from sfcli.words_eval import category_prompt

TEMPLATES = ["{}", "the sound of {}", "a recording of {}", "{} sound", "a {} sound effect", "someone recording {}"]


def zero_shot(
    model: SoundWords, feats: dict[str, torch.Tensor], sources: Sequence[PairSource], templates: Sequence[str]
) -> tuple[float, float]:
    """Top-1 and top-5 accuracy (%) among the categories of ``sources`` with averaged template embeddings."""
    with torch.no_grad():
        audio = model.embed_window_features([feats[s.key].float() for s in sources]).numpy()
        cats = sorted({str(s.category) for s in sources})
        embs = [
            model.project_text(model.text_features([category_prompt(c, t) for c in cats])).numpy() for t in templates
        ]
    cemb = np.mean(embs, axis=0)
    cemb /= np.linalg.norm(cemb, axis=1, keepdims=True)
    truth = np.array([cats.index(str(s.category)) for s in sources])
    order = np.argsort(-(audio @ cemb.T), axis=1, kind="stable")
    rank = np.argmax(order == truth[:, None], axis=1)
    return 100 * float((rank < 1).mean()), 100 * float((rank < 5).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--features", type=Path, default=None)
    a = ap.parse_args()
    model = SoundWords.from_pretrained(a.run / "model").eval()
    blob = load_checkpoint(a.features or a.run / "features.pt")
    if blob is None:
        raise SystemExit("no feature cache found")
    kept, unseen_valid, unseen_test = holdout_split(corpus_sources(), 0.2)
    sets = {"unseen-valid": unseen_valid, "unseen-test": unseen_test, "seen test": split_sources(kept)["test"]}
    print("| templates | " + " | ".join(f"{k} zs@1 | {k} zs@5" for k in sets) + " |")
    print("|---|" + "---|---|" * len(sets))
    rows = [(f"`{t}`", [t]) for t in TEMPLATES] + [("average of all six", TEMPLATES)]
    for name, temps in rows:
        cells = [f"{v:.1f}" for s in sets.values() for v in zero_shot(model, blob["features"], s, temps)]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
