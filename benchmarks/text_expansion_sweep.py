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
import time
from pathlib import Path

import torch


def parse_setting(text: str) -> tuple[int, float] | None:
    """``"raw"`` → None; ``"10:0.5"`` → (10, 0.5)."""
    if text == "raw":
        return None
    k, _, w = text.partition(":")
    return int(k), float(w or 0.0)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=None, help="models folder (default: shipped)")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--settings", nargs="+", default=["raw", "3:0", "10:0", "10:0.5", "30:0"])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from sfcli.api import Separator
    from sfcli.evaluation import evaluate, generated_mixtures
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
        t0 = time.time()
        report = evaluate([("m", sep)], items, queries=["text", "other-text"], irm=False)
        overall = report["runs"][0]["overall"]
        row = {
            "split": args.split,
            "mixtures": len(items),
            "setting": text,
            "text_target_si_sdri": round(overall["text"]["target_si_sdri"], 2),
            "wrong_text_target_si_sdri": round(overall["other-text"]["target_si_sdri"], 2),
            "seconds": round(time.time() - t0, 1),
        }
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
