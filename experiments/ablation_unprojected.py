"""Score SoundFilter models with their raw target output (no mixture-consistency projection).

``Separator`` (and so ``sfcli eval``) always projects the two outputs onto the mixture, which is what
users get. The paper's ablations score the enhanced output as the network gives it; a model trained
without the consistency term is hurt by a projection it never saw. This scores both ways on the same
mixtures (default: the corpus test set), text queries through the audio bank and audio queries:

    OMP_NUM_THREADS=1 python experiments/ablation_unprojected.py RUN_MODEL [RUN_MODEL ...] --words models/soundwords
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sfcli.api import Separator
from sfcli.data.corpus import default_corpus_dir
from sfcli.evaluation import read_manifest, separate_items, summarize
from sfcli.filter_model import SoundFilter
from sfcli.words import SoundWords


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
        filt = SoundFilter.from_pretrained(folder)
        for name, project in (("projected", True), ("unprojected", False)):
            sep = Separator(filt, words, project=project)
            overall = summarize(separate_items(sep, items, ["text", "audio"]))["overall"]
            row[name] = {q: round(v["target_si_sdri"], 2) for q, v in overall.items()}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
