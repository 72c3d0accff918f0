"""Rebuild demo/demo-mix.wav: a horse neighing over rain, from held-out (test-split) corpus clips.

    .venv/bin/python scripts/make_demo.py [--corpus DIR]

Sources (credits in demo/README.md): two horse calls from 0ad-data (audio/actor/fauna/death/
death_horse_10.ogg and death_horse_13.ogg) and rain from megaglest-data
(tilesets/autumn/sounds/rain.ogg), all CC BY-SA 3.0. None of these clips is in the training split
of the corpus, so the demo is a fair held-out example.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from sfcli.data.corpus import Corpus

HORSES = ("fauna/death/death_horse_10.ogg", "fauna/death/death_horse_13.ogg")
RAIN = "tilesets/autumn/sounds/rain.ogg"
SR = 16000


def _clip(corpus: Corpus, suffix: str) -> np.ndarray:
    for clip in corpus.clips:
        if clip.path.endswith(suffix):
            if clip.split != "test":
                raise SystemExit(f"{suffix} is in the {clip.split} split, not test")
            return corpus.audio(clip)
    raise SystemExit(f"{suffix} not found in the corpus")


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)) + 1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("demo"))
    args = parser.parse_args()
    corpus = Corpus.open(args.corpus)
    horses, rain = [_clip(corpus, h) for h in HORSES], _clip(corpus, RAIN)
    n = 8 * SR
    rain = rain[SR : SR + n] / _rms(rain[SR : SR + n]) * 0.05
    horse_track = np.zeros(n, np.float32)
    for start, call in zip((int(1.0 * SR), int(4.6 * SR)), horses, strict=True):
        seg = call[: n - start]
        horse_track[start : start + len(seg)] += seg
    horse_track *= 0.05 / _rms(horse_track[horse_track != 0])
    mix = rain + horse_track
    peak = float(np.abs(mix).max())
    if peak > 0.95:
        scale = 0.95 / peak
        mix, rain, horse_track = mix * scale, rain * scale, horse_track * scale
    args.out.mkdir(parents=True, exist_ok=True)
    for name, x in (("demo-mix", mix), ("demo-horse", horse_track), ("demo-rain", rain)):
        sf.write(args.out / f"{name}.wav", x.astype(np.float32), SR, subtype="PCM_16")
    print(f"wrote {args.out}/demo-mix.wav (+ the true sources demo-horse.wav, demo-rain.wav)")


if __name__ == "__main__":
    main()
