"""Write a SoundWords audio bank: the audio embeddings of a corpus split's clips, stored beside the model.

    .venv/bin/python scripts/make_audio_bank.py models/soundwords --k 10 --text-weight 0

With a bank, ``SoundWords.text_query`` (and so ``sfcli separate --text``) answers a text query with
the mean audio embedding of the ``k`` bank clips nearest to the text embedding (``sfcli.words.AudioBank``).
Each clip contributes its first ``--seconds`` seconds (two SoundWords windows by default), or, with
``--features CACHE`` (a ``features.pt`` written by ``sfcli train-words`` for this model's backbone and
pooling), the mean embedding of its cached windows (up to four, spread over the clip): seconds instead
of minutes, since the audio CNN does not run again.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from sfcli.data.corpus import Corpus
from sfcli.words import AudioBank, SoundWords


def _from_features(words: SoundWords, keys: list[str], path: Path) -> np.ndarray:
    """Bank rows from a train-words feature cache, checked against the model's backbone fingerprint."""
    from sfcli.train.common import load_checkpoint
    from sfcli.train.words import backbone_fingerprint

    blob = load_checkpoint(path) or {}
    expected = backbone_fingerprint(words, "aisfx")
    if blob.get("fingerprint") != expected:
        raise SystemExit(f"{path}: feature cache of another backbone or pooling ({blob.get('fingerprint')})")
    feats = blob["features"]
    missing = [k for k in keys if k not in feats]
    if missing:
        raise SystemExit(f"{path}: {len(missing)} clips not in the cache, e.g. {missing[0]}")
    words.eval()
    with torch.no_grad():
        return words.embed_window_features([feats[k].float() for k in keys]).cpu().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="SoundWords model folder; the bank is written into it")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: $SFCLI_CACHE/corpus)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--seconds", type=float, default=3.4, help="audio per clip, from its start")
    parser.add_argument("--k", type=int, default=10, help="neighbours averaged per text query")
    parser.add_argument("--text-weight", type=float, default=0.0, help="weight of the text embedding itself")
    parser.add_argument("--features", type=Path, default=None, help="train-words feature cache (features.pt)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    words = SoundWords.from_pretrained(args.model)
    corpus = Corpus.open(args.corpus) if args.corpus else Corpus.open()
    clips = corpus.split(args.split)
    if not clips:
        raise SystemExit(f"the corpus has no {args.split!r} clips")
    t0 = time.time()
    if args.features is not None:
        emb = _from_features(words, [str(c.id) for c in clips], args.features)
    else:
        n = int(args.seconds * corpus.sample_rate)
        parts = []
        for i in range(0, len(clips), args.batch):
            audio = [corpus.audio(c)[:n] for c in clips[i : i + args.batch]]
            parts.append(words.embed_audio(audio, corpus.sample_rate))
        emb = np.concatenate(parts)
    info = {
        "source": f"corpus {args.split} split",
        "corpus_built": corpus.meta.get("built"),
        "corpus_clips": len(corpus),
        "categories": sorted({c.category for c in clips}),
    }
    if args.features is not None:
        info["windows_per_clip"] = "train-words feature cache (up to 4, spread over the clip)"
    else:
        info["seconds_per_clip"] = args.seconds
    AudioBank(torch.from_numpy(emb), k=args.k, text_weight=args.text_weight, info=info).save(args.model)
    print(
        json.dumps(
            {
                "model": str(args.model),
                "clips": len(clips),
                "k": args.k,
                "text_weight": args.text_weight,
                "seconds": round(time.time() - t0, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
