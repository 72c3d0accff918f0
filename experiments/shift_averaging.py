"""Test-time shift averaging: does averaging SoundFilter over circularly shifted windows help?

    OMP_NUM_THREADS=1 python experiments/shift_averaging.py --n 300 --shifts 1 2 4

Each 2 s window the streaming engine hands to the network is rolled by ``i·n/K`` samples
(``i = 0 … K−1``), separated, rolled back, and the K target estimates are averaged (K = 1 is the
shipped behaviour). Scored with text and audio queries on ``--n`` mixtures generated from the
validation split (seed 0), as ``sfcli eval --split valid`` does; prints one JSON line per K.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch


def shifted(run: Callable[[np.ndarray], np.ndarray], k: int) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a window function so that it averages over ``k`` circular shifts of its input."""

    def fn(window: np.ndarray) -> np.ndarray:
        n = window.shape[-1]
        outs = [np.roll(run(np.roll(window, s, axis=-1)), -s, axis=-1) for s in (round(i * n / k) for i in range(k))]
        return np.mean(outs, axis=0)

    return fn


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=None, help="models folder (default: shipped)")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--shifts", type=int, nargs="+", default=[1, 2, 4])
    args = ap.parse_args(argv)
    from sfcli.api import Separator
    from sfcli.evaluation import evaluate, generated_mixtures

    sep = Separator.from_pretrained(args.models)
    items = generated_mixtures(None, "valid", args.n, 0)
    plain = Separator.window_fn
    for k in args.shifts:
        sep.window_fn = lambda emb, other=None, k=k: shifted(plain(sep, emb, other), k)  # type: ignore[method-assign]
        t0 = time.time()
        with torch.inference_mode():
            r = evaluate([("m", sep)], items, queries=["text", "audio"], irm=False)["runs"][0]["overall"]
        row = {
            "shifts": k,
            "mixtures": len(items),
            "text_target_si_sdri": round(r["text"]["target_si_sdri"], 2),
            "audio_target_si_sdri": round(r["audio"]["target_si_sdri"], 2),
            "seconds": round(time.time() - t0, 1),
        }
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
