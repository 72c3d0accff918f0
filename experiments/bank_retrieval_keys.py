"""Text queries: pick the bank clips with another SoundWords model, condition on the shipped rows.

    OMP_NUM_THREADS=1 python experiments/bank_retrieval_keys.py ~/.cache/sfcli/runs/words-v3/model

SoundWords answers a text query with the mean of the audio embeddings of the ``k`` bank clips
nearest to it (``sfcli.words.AudioBank``). This asks whether a SoundWords model with a better audio
head (same text head) helps SoundFilter when it only *chooses* the clips: the neighbours are found
with the other model's bank rows (``KEYS_MODEL/audio_bank.safetensors``, same clips in the same
order), the conditioning is still the mean of the shipped model's rows. Prints the text-query
target SI-SDRi with the shipped bank and with the borrowed keys, on mixtures generated from the
validation split (seed 0) and on the fixed test manifest.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("keys_model", type=Path, help="SoundWords folder whose audio bank chooses the neighbours")
    ap.add_argument("--models", type=Path, default=None, help="models folder (default: shipped)")
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args(argv)
    from sfcli.api import Separator
    from sfcli.data.corpus import default_corpus_dir
    from sfcli.evaluation import evaluate, generated_mixtures, read_manifest
    from sfcli.words import AudioBank

    sep = Separator.from_pretrained(args.models)
    shipped = sep.words.audio_bank
    borrowed = AudioBank.load(args.keys_model)
    if shipped is None or borrowed is None or borrowed.embeddings.shape[0] != len(shipped):
        raise SystemExit("both models need audio banks over the same clips")
    keys = borrowed.embeddings

    class BorrowedKeys(AudioBank):
        def _topk(self, q: torch.Tensor, exclude: Sequence[Sequence[int] | None] | None = None) -> torch.Tensor:
            return torch.topk(q @ keys.t(), min(self.k, len(self)), dim=1).indices

    sets = {
        "valid": generated_mixtures(None, "valid", args.n, 0),
        "test": read_manifest(default_corpus_dir() / "eval" / "test.jsonl"),
    }
    for name, bank in (("shipped", shipped), ("borrowed keys", BorrowedKeys(shipped.embeddings, k=shipped.k))):
        sep.words.audio_bank = bank
        row: dict[str, object] = {"bank": name}
        for split, items in sets.items():
            overall = evaluate([("m", sep)], items, queries=["text"], irm=False)["runs"][0]["overall"]
            row[f"{split}_text_target_si_sdri"] = round(overall["text"]["target_si_sdri"], 2)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
