"""Audio queries from short reference clips: zero-padded (as SoundWords pads) vs looped to 2 s.

    python benchmarks/short_reference.py --split valid --n 150 --seconds 0.5 1.0 1.5

Each mixture of a corpus split (generated as ``sfcli eval --split`` does) is separated with its
reference clip cut to its first S seconds (the whole clip if that part is silent), once with
``Separator(loop_reference_seconds=0)`` (the clip goes to SoundWords as it is, which zero-pads it
to its 2.3 s window) and once with the default (looped to 2 s first, the length of the conditioning
crops SoundFilter was trained on). Prints one JSON line per (S, setting): mean target SI-SDRi.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=None, help="models folder (default: shipped)")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seconds", type=float, nargs="+", default=[0.5, 1.0, 1.5])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from sfcli.api import Separator
    from sfcli.evaluation import generated_mixtures, score_mixture

    sep = Separator.from_pretrained(args.models)
    items = generated_mixtures(None, args.split, args.n, args.seed)
    items = [it for it in items if it.ref is not None]
    for seconds in args.seconds:
        for loop in (0.0, 2.0):
            sep.loop_reference_seconds = loop
            t0 = time.time()
            scores = []
            for it in items:
                ref = it.ref[: int(seconds * it.ref_sample_rate)]
                if not np.abs(ref).max() > 0:
                    ref = it.ref
                res = sep.separate(it.mixture, it.sample_rate, reference=ref, reference_sample_rate=it.ref_sample_rate)
                scores.append(score_mixture(res.target, res.residual, it)["target_si_sdri"])
            row = {
                "split": args.split,
                "mixtures": len(items),
                "reference_seconds": seconds,
                "loop_reference_seconds": loop,
                "target_si_sdri": round(float(np.mean(scores)), 2),
                "wall_s": round(time.time() - t0, 1),
            }
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
