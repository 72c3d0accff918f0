"""Which query cue tells a mixture's two sounds apart on real recordings?

    OMP_NUM_THREADS=1 python experiments/query_discrimination.py ../shared/data/kitchen20/manifest.jsonl \
        --seeds 0 1 2 --n 100

For each Kitchen20 mixture of the paper protocol (as ``sfcli eval`` builds it), is the reference (another
recording of the target's label) closer to the target than to the background? Cues: the spectral
signature (:mod:`sfcli.signature`; Euclidean distance, and the shape half alone) and the shipped
SoundWords audio embedding (cosine). Prints the share of mixtures each cue gets right and how often
one is right where the other is wrong: the most a query cue could add to the network's choice of sound.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sfcli.data.labelled import labelled_mixtures, read_labelled
from sfcli.signature import BANDS, signature


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def main(argv: list[str] | None = None) -> int:
    """Score every mixture and print the shares."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--models", type=Path, default=Path("models"))
    args = ap.parse_args(argv)
    from sfcli.words import SoundWords

    words = SoundWords.from_pretrained(args.models)
    clips = read_labelled(args.manifest)
    rows = []
    for seed in args.seeds:
        for it in labelled_mixtures(clips, "paper", seed, args.n):
            r, t, b = (
                signature(x, sr)
                for x, sr in (
                    (it.ref, it.ref_sample_rate),
                    (it.target, it.sample_rate),
                    (it.background, it.sample_rate),
                )
            )
            er = words.embed_audio([it.ref], it.ref_sample_rate)[0]
            et, eb = words.embed_audio([it.target, it.background], it.sample_rate)
            rows.append(
                (
                    np.linalg.norm(r - t) < np.linalg.norm(r - b),
                    np.linalg.norm(r[:BANDS] - t[:BANDS]) < np.linalg.norm(r[:BANDS] - b[:BANDS]),
                    _cos(er, et) > _cos(er, eb),
                )
            )
    got = np.array(rows)
    print(f"mixtures: {len(got)}")
    print(f"signature right: {got[:, 0].mean():.3f} (shape half alone {got[:, 1].mean():.3f})")
    print(f"SoundWords right: {got[:, 2].mean():.3f}")
    print(
        f"signature right where SoundWords is wrong: {(got[:, 0] & ~got[:, 2]).mean():.3f}; "
        f"the reverse: {(~got[:, 0] & got[:, 2]).mean():.3f}; either: {(got[:, 0] | got[:, 2]).mean():.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
