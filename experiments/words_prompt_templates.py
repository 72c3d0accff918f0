"""Does wording the category names differently (or averaging several wordings) help zero-shot?

    python experiments/words_prompt_templates.py RUN [--features CACHE]

RUN is a ``sfcli train-words --holdout-categories 0.2`` run folder (``RUN/model``), CACHE its audio
feature cache (default ``RUN/features.pt``; the hold-out sweep's runs share ``RUNS/features/features.pt``).
Zero-shot top-1 / top-5 (%) on the unseen-valid, unseen-test and seen test clips for each prompt
template and for the average of the template embeddings (re-normalised), as in CLIP's prompt ensembles.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sfcli.train.common import load_checkpoint
from sfcli.train.words import corpus_sources, holdout_split, split_sources, validate
from sfcli.words import SoundWords

TEMPLATES = ["{}", "the sound of {}", "a recording of {}", "{} sound", "a {} sound effect", "someone recording {}"]


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
        cells = []
        for sources in sets.values():
            m = validate(model, sources, blob["features"], template=temps)
            cells += [f"{100 * m['zeroshot_top1']:.1f}", f"{100 * m['zeroshot_top5']:.1f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
