"""Choose the audio-bank expansion of text queries (``sfcli.words.AudioBank``) on validation mixtures.

    python benchmarks/text_expansion_sweep.py --models models --split valid --n 300 \\
        --settings raw 3:0 10:0 10:0.5 30:0

For each setting (``raw`` = the plain text embedding; ``K:W`` = mean of the K nearest bank clips, mixed
with the text embedding at weight W) prints one JSON line: the mean target SI-SDRi with the right text
query and with another mixture's (wrong) text query. The bank itself is the one stored in the models
folder's ``soundwords/`` (``scripts/make_audio_bank.py``); only its ``k`` / ``text_weight`` change.
Mixtures are generated from a corpus split with a seed, as ``sfcli eval --split`` does: choose the
setting on ``valid``, report it once on the test set.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
from sweep_common import add_mixture_args, score_row


def parse_setting(text: str) -> tuple[int, float] | None:
    """``"raw"`` → None; ``"10:0.5"`` → (10, 0.5)."""
    if text == "raw":
        return None
    k, _, w = text.partition(":")
    return int(k), float(w or 0.0)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_mixture_args(ap)
    ap.add_argument("--settings", nargs="+", default=["raw", "3:0", "10:0", "10:0.5", "30:0"])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from sfcli.api import Separator
    from sfcli.evaluation import generated_mixtures
    from sfcli.words import AudioBank

    sep = Separator.from_pretrained(args.models)
    bank = sep.words.audio_bank
    if bank is None:
        print("the SoundWords model has no audio bank (scripts/make_audio_bank.py)", file=sys.stderr)
        return 1
    items = generated_mixtures(None, args.split, args.n, args.seed)
    for text in args.settings:
        setting = parse_setting(text)
        sep.text_expansion = setting is not None
        if setting is not None:
            sep.words.audio_bank = AudioBank(bank.embeddings, k=setting[0], text_weight=setting[1], info=bank.info)
        row = score_row(sep, items, ["text", "other-text"], split=args.split, mixtures=len(items), setting=text)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
