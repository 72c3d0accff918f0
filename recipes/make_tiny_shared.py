"""Write a tiny stand-in for ``../shared/data`` (``fsdd/`` and ``donateacry/``) for the recipes' ``--smoke`` mode.

    python recipes/make_tiny_shared.py OUT_DIR

Synthetic, seeded audio in the two manifests' layout, so ``scripts/corpus/build.py --no-debian
--no-synth --shared OUT_DIR`` builds a corpus of ~20 clips in two categories with train, valid and
test splits (five "speakers" of three "digits", six "crying" files of distinct families). Only for
exercising every stage of a recipe in seconds; nothing trained on it means anything.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 8000


def _write(folder: Path, rows: list[dict]) -> None:
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def make(out: Path, seed: int = 0) -> None:
    """Write ``out/fsdd`` and ``out/donateacry`` (audio + ``manifest.jsonl``)."""
    rng = np.random.default_rng(seed)
    for name in ("fsdd", "donateacry"):
        (out / name / "audio").mkdir(parents=True, exist_ok=True)
    rows = []
    for s, speaker in enumerate(("ann", "bob", "cat", "dan", "eve")):
        for digit in range(3):
            t = np.arange(int(SR * (0.6 + 0.1 * digit))) / SR
            x = 0.3 * np.sin(2 * np.pi * (200 + 40 * s + 90 * digit) * t) * np.hanning(t.size)
            rel = f"audio/{digit}_{speaker}_0.flac"
            sf.write(out / "fsdd" / rel, x, SR)
            rows.append(
                {
                    "audio": rel,
                    "text": f"a person saying the number {digit}",
                    "label": f"spoken digit {digit}",
                    "sample_rate": SR,
                    "seconds": round(t.size / SR, 3),
                    "speaker": speaker,
                }
            )
    _write(out / "fsdd", rows)
    rows = []
    for i in range(6):
        n = 3 * SR
        x = 0.2 * rng.standard_normal(n) * (np.sin(2 * np.pi * (1.2 + 0.2 * i) * np.arange(n) / SR) > 0)
        rel = f"audio/family{i:02d}-cry.flac"
        sf.write(out / "donateacry" / rel, x, SR)
        rows.append({"audio": rel, "text": "a baby crying", "label": "baby crying", "sample_rate": SR, "seconds": 3.0})
    _write(out / "donateacry", rows)


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    make(ap.parse_args().out)


if __name__ == "__main__":
    main()
