"""Fill ``sfcli train-words`` audio-feature caches with several processes, for several time poolings.

    .venv/bin/python scripts/words_feature_cache.py ~/.cache/sfcli/runs/words-feats --pools max meanmax

The frozen aiSFX CNN runs once per clip window (up to ``--max-windows`` windows spread over each
clip, as ``train-words`` picks them); its frequency-averaged maps are kept, split over ``--procs``
processes of one torch thread each (the single-process ``train-words`` extraction uses one Python
loop). Each pooling is then written as ``ROOT/features/features.pt`` (``max``, aiSFX's own pooling) or
``ROOT/features-POOL/features.pt``, with the fingerprint ``train-words`` checks, so pass the folder
as ``--cache-dir`` (``benchmarks/words_holdout_sweep.py --runs ROOT`` finds them by this naming).
The maps are stored as float16 before pooling; ``max`` pooling is then bit-identical to the CLI's
cache and the time mean differs from it by float16 rounding only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from sfcli.train.common import save_checkpoint
from sfcli.train.words import TrainWordsOptions, backbone_fingerprint, build_model, corpus_sources, spread
from sfcli.words import POOLS, SoundWords, SoundWordsConfig, pool_time


def _worker(part: int, parts: int, out: Path, max_windows: int, corpus: str | None) -> None:
    torch.set_num_threads(1)
    sources = [s for i, s in enumerate(corpus_sources(corpus)) if i % parts == part]
    model = build_model(TrainWordsOptions(run_dir=out.parent), torch.device("cpu")).eval()
    maps: dict[str, torch.Tensor] = {}
    t0 = time.monotonic()
    for i, s in enumerate(sources):
        clip, sr = s.load()
        wins = model.windows(model.prepare_audio(clip, sr))
        wins = wins[spread(wins.shape[0], max_windows)]
        with torch.no_grad():  # (windows, channels, time), before any time pooling
            maps[s.key] = model.audio_backbone.maps(model.frontend(torch.from_numpy(wins))).to(torch.float16)
        if i % 1000 == 0:
            print(f"part {part}: {i}/{len(sources)} clips, {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    torch.save(maps, out)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", type=Path, help="folder that receives features/ and features-POOL/")
    ap.add_argument("--pools", nargs="+", default=["max"], choices=POOLS)
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--max-windows", type=int, default=4)
    ap.add_argument("--corpus", default=None, help="corpus folder (default: $SFCLI_CACHE/corpus)")
    ap.add_argument("--part", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    if args.part is not None:
        _worker(args.part, args.procs, args.root / f".maps-{args.part}.pt", args.max_windows, args.corpus)
        return 0
    base = [sys.executable, __file__, str(args.root), "--procs", str(args.procs)]
    base += ["--max-windows", str(args.max_windows)]
    base += ["--corpus", args.corpus] if args.corpus else []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([*base, "--part", str(p)], env=env) for p in range(args.procs)]
    if any(p.wait() for p in procs):
        raise SystemExit("a feature worker failed")
    maps: dict[str, torch.Tensor] = {}
    for p in range(args.procs):
        part = args.root / f".maps-{p}.pt"
        maps.update(torch.load(part))
        part.unlink()
    for pool in args.pools:
        fingerprint = backbone_fingerprint(SoundWords(SoundWordsConfig(audio_pool=pool)), "aisfx")
        feats = {k: pool_time(v.float(), pool).to(torch.float16) for k, v in maps.items()}
        folder = args.root / ("features" if pool == "max" else f"features-{pool}")
        save_checkpoint(folder / "features.pt", {"fingerprint": fingerprint, "features": feats})
        print(f"{folder / 'features.pt'}: {len(feats)} clips, {pool} pooling")
    return 0


if __name__ == "__main__":
    sys.exit(main())
