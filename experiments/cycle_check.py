"""Can SoundFilter itself tell which of its two outputs holds the queried sound? A cycle check.

    OMP_NUM_THREADS=1 python experiments/cycle_check.py --kitchen20 ../shared/data/kitchen20/manifest.jsonl \
        --seeds 0 1 2 --n 100 --valid-n 200 --out /tmp/cycle/scores.jsonl
    python experiments/cycle_check.py --summary /tmp/cycle/scores.jsonl

Out of domain a quarter of the mixtures come back with target and residual the wrong way round, and
SoundWords cannot tell which output is which (``swap_outputs.py``). Here the network checks its own
answer with the reference clip, whose sound is known: the reference is mixed with each output in turn
(``ref + residual`` and ``ref + target``, the reference at the mixture's RMS), and each new mixture is
separated with the same query. If the target output really holds the queried sound, ``ref + residual``
is a clean "reference over background" mixture, and the network should hand the reference back well;
``ref + target`` holds two takes of the same sound and should not come apart along the reference. The
feature is ``d = SI-SDR(ref | ref + target) - SI-SDR(ref | ref + residual)``; a large ``d`` says "swap".
One JSON line per (set, mixture) with the SI-SDRi of the target as is and swapped, and both SI-SDRs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from mixture_sets import add_arguments, query_vector, write_rows


def _fit(ref: np.ndarray, n: int) -> np.ndarray:
    """The reference looped or cut to ``n`` samples."""
    return np.resize(np.asarray(ref, dtype=np.float32).reshape(-1), n)


def record(sep, it, set_name: str) -> dict:
    """Scores and the cycle feature of one mixture, audio query."""
    from sfcli.audio import resample
    from sfcli.data.mixing import rms
    from sfcli.evaluation import score_mixture
    from sfcli.losses import si_sdr

    emb = query_vector(sep, it, "audio")
    mix = it.mixture.reshape(-1)
    t = sep.separate(mix, it.sample_rate, embedding=emb, check=False).target.reshape(-1)
    r = mix - t
    ref = it.ref if it.ref_sample_rate == it.sample_rate else resample(it.ref, it.ref_sample_rate, it.sample_rate)
    ref = _fit(ref, mix.shape[0])
    ref = ref * (rms(mix) / max(rms(ref), 1e-8))
    cyc = {}
    for name, other in (("with_r", r), ("with_t", t)):
        out = sep.separate(ref + other, it.sample_rate, embedding=emb, check=False).target.reshape(-1)
        cyc[name] = float(si_sdr(torch.from_numpy(out)[None], torch.from_numpy(ref)[None])[0])
    plain, swapped = score_mixture(t, r, it), score_mixture(r, t, it)
    return {
        "set": set_name,
        "name": it.name,
        "category": it.category,
        "si_sdri": plain["target_si_sdri"],
        "si_sdri_swapped": swapped["target_si_sdri"],
        "cyc_r": cyc["with_r"],
        "cyc_t": cyc["with_t"],
    }


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    pos, neg = score[positive], score[~positive]
    if not len(pos) or not len(neg):
        return float("nan")
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def summary(path: Path, margins: list[float]) -> None:
    """Per set group: AUC of ``d`` for "the swapped output is better", and the swap rule's means."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for group in sorted({r["set"].split("-s")[0] for r in rows}):
        sel = [r for r in rows if r["set"].split("-s")[0] == group]
        x = np.array([r["si_sdri"] for r in sel])
        y = np.array([r["si_sdri_swapped"] for r in sel])
        d = np.array([r["cyc_t"] - r["cyc_r"] for r in sel])
        cells = [f"m={m:+.1f}: {np.where(d > m, y, x).mean():6.2f} ({(d > m).mean() * 100:4.1f}%)" for m in margins]
        print(
            f"{group:6s} n={len(sel):4d} none {x.mean():6.2f} oracle {np.maximum(x, y).mean():6.2f} "
            f"AUC {_auc(d, y > x):.3f} | " + " | ".join(cells)
        )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(ap, n=50, queries=("audio",))
    ap.add_argument("--margins", type=float, nargs="+", default=[0.0, 3.0, 6.0, 10.0])
    args = ap.parse_args(argv)
    if args.summary:
        summary(args.summary, args.margins)
        return 0
    from sfcli.api import Separator

    sep = Separator.from_pretrained(args.models)
    write_rows(args, lambda it, q, name: record(sep, it, name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
