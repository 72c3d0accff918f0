"""What training on the Opus-coded corpus copy (``scripts/gpu/pack_corpus.py``) costs as a domain shift.

Builds two corpus folders with the packed clip table (train clips capped at 8 s, valid at 3 s): one with
the original int16 audio, one decoded from the Opus chunks; prints the per-clip SNR of the decoded audio
against the original and scores a SoundFilter on the same 64 validation mixtures of each (audio queries),
as ``sfcli train-filter`` validates:

    python experiments/opus_domain_shift.py MODEL_DIR --packed .gpu --out /tmp/opus-shift
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from sfcli.filter_model import SoundFilter
from sfcli.train.filter import ConditioningCache, build_validation, corpus_datasets, validate
from sfcli.words import SoundWords


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--packed", type=Path, default=Path(".gpu"), help="pack_corpus.py output (common/, c0/, c1/)")
    ap.add_argument("--corpus", type=Path, default=Path.home() / ".cache/sfcli/corpus")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--size", type=int, default=64)
    a = ap.parse_args()
    raw, coded, keep = a.out / "original", a.out / "opus", a.out / "chunks"
    src = a.out / "opus-src"
    src.mkdir(parents=True, exist_ok=True)
    for f in sorted(a.packed.glob("c*/chunk*.opus")):
        shutil.copy(f, src / f.name)
    subprocess.run(
        [sys.executable, "scripts/gpu/unpack_corpus.py", "--index", str(a.packed / "common"), "--src", str(src),
         "--dst", str(coded), "--keep", str(keep)],
        check=True,
    )  # fmt: skip
    records = [json.loads(x) for x in gzip.decompress((a.packed / "common/clips.jsonl.gz").read_bytes()).splitlines()]
    original = {c["id"]: c for c in map(json.loads, (a.corpus / "clips.jsonl").open())}
    audio = np.memmap(a.corpus / "audio.int16", dtype=np.int16, mode="r")
    out = np.zeros(max(r["offset"] + r["length"] for r in records), np.int16)
    for r in records:
        o = original[r["id"]]["offset"]
        out[r["offset"] : r["offset"] + r["length"]] = audio[o : o + r["length"]]
    raw.mkdir(parents=True, exist_ok=True)
    out.tofile(raw / "audio.int16")
    for f in ("clips.jsonl", "meta.json"):
        shutil.copy(coded / f, raw / f)
    decoded = np.memmap(coded / "audio.int16", dtype=np.int16, mode="r")
    snr = []
    for r in records:
        x = out[r["offset"] : r["offset"] + r["length"]].astype(np.float64)
        y = decoded[r["offset"] : r["offset"] + r["length"]].astype(np.float64)
        if np.sum(x**2) > 0:
            snr.append(10 * np.log10(np.sum(x**2) / max(np.sum((x - y) ** 2), 1e-9)))
    q = np.percentile(snr, [10, 50, 90])
    print(json.dumps({"clips": len(snr), "opus_snr_db_p10_p50_p90": [round(float(v), 1) for v in q]}), flush=True)
    words = SoundWords.from_pretrained(None)
    model = SoundFilter.from_pretrained(a.model).float().eval()
    for name, root in (("original", raw), ("opus", coded)):
        _, valid, _ = corpus_datasets(root, 0)
        val = build_validation(valid, ConditioningCache(words, 16000), a.size, 0, 0.0)
        print(json.dumps({"audio": name, **validate(model, val, words, 16000, torch.device("cpu"))}), flush=True)


if __name__ == "__main__":
    main()
