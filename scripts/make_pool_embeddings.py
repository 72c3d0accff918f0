"""Write the SoundWords audio embedding of every label-free pool clip into the pool folder.

    .venv/bin/python scripts/make_pool_embeddings.py            # $SFCLI_CACHE/pool, models/soundwords

``train-filter --similar-pool P`` draws the background of a share of the label-free examples from the
pool clips nearest to the target clip in this embedding (:func:`sfcli.data.pool.pool_embeddings`).
Each clip contributes its first ``--seconds`` seconds, as the SoundWords audio bank
(``scripts/make_audio_bank.py``); about 40 ms a clip on one core. Writes ``soundwords.npy`` (float16,
one row per clip of the pool's train split, in its order) and ``soundwords.json`` (what it was made
from) atomically.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import numpy as np
import torch

from sfcli.data.pool import POOL_EMBEDDINGS, clip_ids_digest, default_pool_dir, open_pool
from sfcli.pretrained import atomic_write_bytes
from sfcli.words import SoundWords


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=Path, default=None, help="pool folder (default: $SFCLI_CACHE/pool)")
    parser.add_argument("--model", type=Path, default=Path("models/soundwords"), help="SoundWords model folder")
    parser.add_argument("--seconds", type=float, default=3.4, help="audio per clip, from its start")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    root = args.pool or default_pool_dir()
    pool = open_pool(root)
    if pool is None:
        raise SystemExit(f"no label-free pool at {root}; build it with scripts/corpus/unlabelled.py")
    words = SoundWords.from_pretrained(args.model)
    clips = pool.split("train")
    n = int(args.seconds * pool.sample_rate)
    t0 = time.time()
    parts = []
    for i in range(0, len(clips), args.batch):
        parts.append(words.embed_audio([pool.audio(c)[:n] for c in clips[i : i + args.batch]], pool.sample_rate))
        if (i // args.batch) % 20 == 0:
            print(f"{i + len(parts[-1])}/{len(clips)} clips, {time.time() - t0:.0f} s", flush=True)
    emb = np.concatenate(parts).astype(np.float16)
    info = {
        "clips": len(clips),
        "clip_ids": clip_ids_digest(clips),
        "pool_built": pool.meta.get("built"),
        "model": str(args.model),
        "seconds_per_clip": args.seconds,
    }
    buf = io.BytesIO()
    np.save(buf, emb)
    atomic_write_bytes(root / f"{POOL_EMBEDDINGS}.npy", buf.getvalue())
    atomic_write_bytes(root / f"{POOL_EMBEDDINGS}.json", (json.dumps(info, indent=1) + "\n").encode())
    print(json.dumps({"pool": str(root), "clips": len(clips), "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
