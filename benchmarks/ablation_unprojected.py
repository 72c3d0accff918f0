"""Score SoundFilter models with their raw target output (no mixture-consistency projection).

``Separator`` (and so ``sfcli eval``) always projects the two outputs onto the mixture, which is what
users get. The paper's ablations score the enhanced output as the network gives it; a model trained
without the consistency term is hurt by a projection it never saw. This scores both ways on the same
mixtures (default: the corpus test set), text queries through the audio bank and audio queries:

    OMP_NUM_THREADS=1 python benchmarks/ablation_unprojected.py RUN_MODEL [RUN_MODEL ...] --words models/soundwords
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from sfcli.api import Separator
from sfcli.data.corpus import default_corpus_dir
from sfcli.evaluation import read_manifest, separate_items, summarize
from sfcli.filter_model import SoundFilter
from sfcli.words import SoundWords


class UnprojectedSeparator(Separator):
    """A Separator whose windows return the network's own target output (``project=False``)."""

    def window_fn(self, embedding: np.ndarray):  # type: ignore[override]
        """Like :meth:`Separator.window_fn` without the mixture-consistency projection."""
        cond = torch.as_tensor(np.asarray(embedding, dtype=np.float32), device=self.device).reshape(1, -1)

        def run(window: np.ndarray) -> np.ndarray:
            x = torch.from_numpy(np.ascontiguousarray(window, dtype=np.float32)).to(self.device)
            with torch.inference_mode():
                target, _ = self.filter(x.unsqueeze(1), cond.expand(x.shape[0], -1), project=False)
            return target.squeeze(1).cpu().numpy()

        return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("filters", nargs="+", type=Path, help="SoundFilter model folders")
    parser.add_argument("--words", type=Path, default=None, help="SoundWords folder (default: shipped)")
    parser.add_argument("--manifest", type=Path, default=default_corpus_dir() / "eval" / "test.jsonl")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    items = read_manifest(args.manifest, args.limit)
    words = SoundWords.from_pretrained(args.words)
    for folder in args.filters:
        row: dict[str, object] = {"model": str(folder), "n_mixtures": len(items)}
        for name, cls in (("projected", Separator), ("unprojected", UnprojectedSeparator)):
            sep = cls(SoundFilter.from_pretrained(folder), words)
            overall = summarize(separate_items(sep, items, ["text", "audio"]))["overall"]
            row[name] = {q: round(v["target_si_sdri"], 2) for q, v in overall.items()}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
