"""Zero-shot SoundWords on categories its training never saw.

    python experiments/words_unseen_categories.py --models models/soundwords --per-category 20

"Unseen" categories are the corpus categories whose name is not among the texts the model was trained
with (the model folder's ``text_cache.json`` holds every training description and category name), for
example categories added to the corpus after the model was trained. All their clips (any split, at
most ``--per-category`` each) are embedded from the audio, and the script reports the
:mod:`sfcli.words_eval` metrics over them — zero-shot among the unseen categories — plus zero-shot
among the unseen and the seen test categories together. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=None, help="model folder (default: shipped models/)")
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--per-category", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from sfcli.pretrained import resolve_model_dir
    from sfcli.train.words import cap_per_category, corpus_sources
    from sfcli.words import TEXT_CACHE_TEXTS, SoundWords
    from sfcli.words_eval import EvalRecord, category_prompt, evaluate_embeddings

    folder = resolve_model_dir(args.models, "soundwords")
    known = set(json.loads((folder / TEXT_CACHE_TEXTS).read_text()))
    sources = corpus_sources(args.corpus)
    unseen = sorted({s.category for s in sources if s.category and category_prompt(s.category) not in known})
    clips = cap_per_category([s for s in sources if s.category in unseen], args.per_category)
    if not clips:
        print(json.dumps({"unseen_categories": []}))
        return 0
    sw = SoundWords.from_pretrained(folder)
    audio = np.concatenate([sw.embed_audio([x], sr) for x, sr in (s.load() for s in clips)])
    recs = [EvalRecord(s.descriptions, s.category) for s in clips]
    out: dict[str, object] = {
        "unseen_categories": unseen,
        "clips": len(clips),
        "unseen_only": evaluate_embeddings(audio, recs, sw.embed_text),
    }
    seen_test = sorted({s.category for s in sources if s.split == "test" and s.category and s.category not in unseen})
    cats = unseen + seen_test
    cemb = sw.embed_text([category_prompt(c) for c in cats])
    truth = np.array([cats.index(s.category) for s in clips])
    order = np.argsort(-(audio @ cemb.T), axis=1)
    rank = np.argmax(order == truth[:, None], axis=1)
    out["among_all_test_categories"] = {
        "n_categories": len(cats),
        "zeroshot_top1": float((rank < 1).mean()),
        "zeroshot_top5": float((rank < 5).mean()),
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
