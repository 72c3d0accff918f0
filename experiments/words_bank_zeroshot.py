"""Do text queries answered through an audio bank retrieve and classify categories never seen in training?

    python experiments/words_bank_zeroshot.py RUN [--features CACHE] [--settings K:W ...]

RUN is a ``sfcli train-words --holdout-categories 0.2`` run folder (``RUN/model``), CACHE its audio
feature cache (default ``RUN/features.pt``). The bank is the run's own train split (kept categories
only), embedded from the cache, as ``scripts/make_audio_bank.py`` builds the shipped one. Each
setting ``K:W`` replaces every text embedding (descriptions and category names alike) by
:meth:`sfcli.words.AudioBank.expand` with ``k = K`` and ``text_weight = W``; ``off`` keeps the text
embeddings. Prints zero-shot top-1 / top-5 and text->audio R@10 (%) on the unseen-valid, unseen-test
and seen test clips, one Markdown row per setting.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from sfcli.train.common import load_checkpoint
from sfcli.train.words import corpus_sources, holdout_split, split_sources
from sfcli.words import AudioBank, SoundWords
from sfcli.words_eval import EvalRecord, evaluate_embeddings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--features", type=Path, default=None)
    ap.add_argument("--settings", nargs="+", default=["off", "10:0", "10:0.5", "30:0", "30:0.5", "100:0.5"])
    a = ap.parse_args()
    model = SoundWords.from_pretrained(a.run / "model").eval()
    blob = load_checkpoint(a.features or a.run / "features.pt")
    if blob is None:
        raise SystemExit("no feature cache found")
    feats = blob["features"]
    kept, unseen_valid, unseen_test = holdout_split(corpus_sources(), 0.2)
    kept_splits = split_sources(kept)
    sets = {"unseen-valid": unseen_valid, "unseen-test": unseen_test, "seen test": kept_splits["test"]}

    def audio_of(sources: list) -> np.ndarray:
        with torch.no_grad():
            return model.embed_window_features([feats[s.key].float() for s in sources]).cpu().numpy()

    bank_rows = audio_of(kept_splits["train"])
    audio = {name: audio_of(src) for name, src in sets.items()}
    records = {name: [EvalRecord(s.descriptions, s.category) for s in src] for name, src in sets.items()}
    print(f"bank: {bank_rows.shape[0]} train clips of the kept categories")
    print("| setting | " + " | ".join(f"{k} zs@1 | {k} zs@5 | {k} t→a R@10" for k in sets) + " |")
    print("|---|" + "---|---|---|" * len(sets))

    def text_raw(texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            return model.project_text(model.text_features(texts).to(model.device)).cpu().numpy()

    for setting in a.settings:
        if setting == "off":
            embed = text_raw
        else:
            k, w = setting.split(":")
            bank = AudioBank(torch.as_tensor(bank_rows), k=int(k), text_weight=float(w))

            def embed(texts: list[str], bank: AudioBank = bank) -> np.ndarray:
                return bank.expand(text_raw(texts))

        cells = []
        for name in sets:
            m = evaluate_embeddings(audio[name], records[name], embed)
            cells += [f"{100 * m[key]:.1f}" for key in ("zeroshot_top1", "zeroshot_top5", "t2a_R@10")]
        print(f"| {setting} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
