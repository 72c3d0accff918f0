"""Rebuild a corpus folder from ``pack_corpus.py``'s Opus chunks (run on the GPU machine).

Chunks found in ``--src`` are decoded (in parallel) and kept as int16 in ``--keep`` so that a later call
that brings only the other chunks can reuse them; chunks found in neither place are left as silence.
Train only once every chunk is present: the manifest keeps all clips (the SoundWords audio bank must
match the train split), and with half of them silent ``train-filter`` soon meets an example whose
redraws are all silent and stops with an error (as the first call of 2026-11-26 08:33 UTC did).

    python scripts/gpu/unpack_corpus.py --index .gpu/common --src .gpu/c0 --dst /tmp/corpus --keep /tmp/chunks
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf


def _decode(args: tuple[str, str]) -> str:
    src, dst = args
    x, sr = sf.read(src, dtype="float32")
    assert sr == 16000, sr
    np.save(dst, np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16))
    return dst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True, help="folder with pack_corpus.py's clips.jsonl.gz + meta.json")
    ap.add_argument("--src", type=Path, required=True, help="folder with the chunk*.opus this call brought")
    ap.add_argument("--dst", type=Path, required=True)
    ap.add_argument("--keep", type=Path, required=True)
    a = ap.parse_args()
    a.keep.mkdir(parents=True, exist_ok=True)
    a.dst.mkdir(parents=True, exist_ok=True)
    if (a.index / "clips.jsonl.gz").is_file():
        (a.keep / "clips.jsonl").write_bytes(gzip.decompress((a.index / "clips.jsonl.gz").read_bytes()))
        shutil.copy(a.index / "meta.json", a.keep / "meta.json")
    clips = [json.loads(line) for line in (a.keep / "clips.jsonl").open() if line.strip()]
    chunks = sorted({int(c["chunk"]) for c in clips})
    jobs = [
        (str(a.src / f"chunk{k}.opus"), str(a.keep / f"chunk{k}.npy"))
        for k in chunks
        if (a.src / f"chunk{k}.opus").is_file()
    ]
    with ProcessPoolExecutor(max_workers=max(1, len(jobs))) as ex:
        list(ex.map(_decode, jobs))
    total = max(int(c["offset"]) + int(c["length"]) for c in clips)
    # the corpus format is a headerless int16 file; a new memmap starts as silence
    audio = np.memmap(a.dst / "audio.int16", dtype=np.int16, mode="w+", shape=(total,))
    have = []
    for k in chunks:
        mine = [c for c in clips if int(c["chunk"]) == k]
        start = min(int(c["offset"]) for c in mine)
        end = max(int(c["offset"]) + int(c["length"]) for c in mine)
        p = a.keep / f"chunk{k}.npy"
        if p.is_file():
            x = np.load(p)
            n = min(end - start, x.size)
            audio[start : start + n] = x[:n]
            have.append(k)
    audio.flush()
    del audio
    shutil.copy(a.keep / "clips.jsonl", a.dst / "clips.jsonl")
    shutil.copy(a.keep / "meta.json", a.dst / "meta.json")
    hours = sum(int(c["length"]) for c in clips if int(c["chunk"]) in have) / 16000 / 3600
    print(f"corpus at {a.dst}: chunks {have} of {chunks} present, {hours:.2f} h of audio", flush=True)
    if have != chunks:
        print("warning: chunks missing; train only after a later call has brought them", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
