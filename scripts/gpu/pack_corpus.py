"""Pack the corpus's train + valid audio into Opus chunks small enough to travel to a lent GPU machine.

A lent accelerator machine here has no network and receives at most 64 MiB per call, while the corpus
is 1.2 GB of int16. This keeps every train and valid clip (so the SoundWords audio bank still matches the
train split), caps each clip's length, and encodes the concatenated audio as ``--chunks`` Ogg/Opus
files of about equal duration. ``unpack_corpus.py`` turns them back into a corpus folder.
Training on the decoded audio is a (documented) approximation: Opus at ~25 kbit/s changes the waveform
(median per-clip SNR 17.7 dB against the original: experiments/opus_domain_shift.py) though not what it
sounds like.

    python scripts/gpu/pack_corpus.py --out .gpu --chunks 2 --cap-train 8 --cap-valid 3 --level 0.92
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf


def _encode(args: tuple[str, str, list[tuple[int, int]], float]) -> tuple[str, int]:
    audio_path, out, spans, level = args
    audio = np.memmap(audio_path, dtype=np.int16, mode="r")
    x = np.concatenate([audio[o : o + n] for o, n in spans]).astype(np.float32) / 32768.0
    sf.write(out, x, 16000, format="OGG", subtype="OPUS", compression_level=level)
    return out, int(x.size)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path.home() / ".cache/sfcli/corpus")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--chunks", type=int, default=2)
    ap.add_argument("--cap-train", type=float, default=8.0, help="seconds kept of each train clip")
    ap.add_argument("--cap-valid", type=float, default=3.0, help="seconds kept of each valid clip")
    ap.add_argument("--level", type=float, default=0.92, help="libsndfile Opus compression level (1 = smallest)")
    ap.add_argument("--only", type=int, action="append", help="(re-)encode only these chunks")
    a = ap.parse_args()
    clips = [json.loads(line) for line in (a.corpus / "clips.jsonl").open() if line.strip()]
    keep = []
    for c in clips:
        cap = {"train": a.cap_train, "valid": a.cap_valid}.get(c["split"])
        if cap is None:
            continue
        n = min(int(c["length"]), int(cap * 16000))
        keep.append((c, n))
    total = sum(n for _, n in keep)
    per = total / a.chunks
    chunks: list[list[tuple[dict, int]]] = [[] for _ in range(a.chunks)]
    acc = 0
    for c, n in keep:
        chunks[min(int(acc / per), a.chunks - 1)].append((c, n))
        acc += n
    a.out.mkdir(parents=True, exist_ok=True)
    records = []
    offset = 0
    jobs = []
    for k, ch in enumerate(chunks):
        spans = []
        for c, n in ch:
            spans.append((int(c["offset"]), n))
            r = dict(c, offset=offset, length=n, duration=round(n / 16000, 3), chunk=k)
            records.append(r)
            offset += n
        if a.only is None or k in a.only:
            jobs.append((str(a.corpus / "audio.int16"), str(a.out / f"chunk{k}.opus"), spans, a.level))
    with ProcessPoolExecutor(max_workers=max(1, min(2, len(jobs)))) as ex:
        for out, n in ex.map(_encode, jobs):
            print(f"{out}: {n / 16000 / 3600:.2f} h, {Path(out).stat().st_size / 2**20:.1f} MiB", flush=True)
    with (a.out / "clips.jsonl").open("w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    meta = json.loads((a.corpus / "meta.json").read_text())
    meta["packed"] = {"cap_train": a.cap_train, "cap_valid": a.cap_valid, "opus_level": a.level, "chunks": a.chunks}
    if a.only is not None:
        meta["packed"]["opus_level_of"] = {str(k): a.level for k in a.only}
    (a.out / "meta.json").write_text(json.dumps(meta, indent=1))
    print(f"{len(records)} clips, {total / 16000 / 3600:.2f} h in {a.chunks} chunks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
