"""Training throughput of SoundFilter (not part of the test suite).

    .venv/bin/python benchmarks/bench_train_filter.py              # JSON summary on stdout
    .venv/bin/python benchmarks/bench_train_filter.py --steps 5 --batch-size 16 --threads 2
    python benchmarks/bench_train_filter.py --device cuda --batch-size 64 --steps 40 --workers 0 --workers 7

Measures, with ``--threads`` torch threads, on 2 s mixtures at 16 kHz:

* ``network``: forward + loss + backward + Adam step of the default SoundFilter alone (random data),
  for the paper's soft-consistency recipe and for the exact projection;
* ``audio_query_embedding``: SoundWords audio embeddings of 2 s conditioning crops (the per-example cost
  that text queries avoid, text embeddings being cached);
* ``train_filter``: the whole training loop (:func:`sfcli.train.filter.train_filter`) on synthetic tone
  mixtures, data loading and conditioning in the prefetch thread (``--workers 0``) or in N DataLoader
  processes (``--workers N``, repeatable to compare) included.

SoundWords is the shipped model when ``models/soundwords`` exists, else the default architecture with
random weights and the hashing text encoder (the audio cost does not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _words():
    from sfcli.errors import ModelNotFoundError
    from sfcli.words import SoundWords, SoundWordsConfig

    try:
        return SoundWords.from_pretrained(None), "shipped"
    except ModelNotFoundError:
        return SoundWords(SoundWordsConfig(text_backbone="hashing")).eval(), "random-init (hashing text)"


def bench_network(batch: int, steps: int, projection: bool, device: str = "cpu") -> float:
    """Examples/s of training steps of the network alone."""
    from sfcli.filter_model import SoundFilter, SoundFilterConfig
    from sfcli.losses import separation_loss

    torch.manual_seed(0)
    model = SoundFilter(SoundFilterConfig(consistency="projection" if projection else "none")).to(device)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    t = torch.randn(batch, 1, 32000, device=device) * 0.1
    b = torch.randn(batch, 1, 32000, device=device) * 0.1
    c = torch.nn.functional.normalize(torch.randn(batch, 64, device=device), dim=-1)
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        te, re = model(t + b, c)
        loss = separation_loss(te, re, t, b, t + b, consistency_loss=not projection).total
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if device != "cpu":
            torch.cuda.synchronize()
        if i:  # the first step warms up allocators
            times.append(time.perf_counter() - t0)
    return batch / float(np.median(times))


def bench_embedding(words, batch: int, reps: int) -> float:
    """Seconds per 2 s conditioning crop for SoundWords' audio tower."""
    rng = np.random.default_rng(0)
    clips = [(0.1 * rng.standard_normal(32000)).astype(np.float32) for _ in range(batch)]
    words.embed_audio(clips[:2], 16000)
    t0 = time.perf_counter()
    for _ in range(reps):
        words.embed_audio(clips, 16000)
    return (time.perf_counter() - t0) / (reps * batch)


def bench_loop(words, batch: int, steps: int, workers: int = 0, device: str = "cpu") -> dict:
    """The whole training loop on synthetic 2 s tone mixtures."""
    from sfcli.filter_model import SoundFilterConfig
    from sfcli.train.datasets import ToneMixtures
    from sfcli.train.filter import TrainFilterOptions, train_filter

    with tempfile.TemporaryDirectory() as tmp:
        opts = TrainFilterOptions(
            run_dir=Path(tmp),
            out=None,
            steps=steps,
            batch_size=batch,
            eval_every=10**9,
            checkpoint_every=10**9,
            valid_size=0,
            workers=workers,
            device=device,
            model_config=SoundFilterConfig(),
        )
        data = ToneMixtures(seed=0, seconds=2.0)
        s = train_filter(opts, data, None, words, descriptions=data.descriptions(), progress=False)
    return {"examples_per_second": s["examples_per_second"], "steps": steps, "batch": batch, "workers": workers}


def main() -> None:
    """Run the benchmarks and print a JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--workers", type=int, action="append", help="data-loading processes (repeatable; default 0)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    words, source = _words()
    words.to(args.device)
    out = {
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": args.threads,
        "soundwords": source,
        "network_examples_per_second": {
            "soft_consistency_loss": round(bench_network(args.batch_size, args.steps, False, args.device), 2),
            "projection": round(bench_network(args.batch_size, args.steps, True, args.device), 2),
        },
        "audio_query_seconds_per_example": round(bench_embedding(words, args.batch_size, 2), 4),
        "device": args.device,
        "train_filter": [bench_loop(words, args.batch_size, args.steps, w, args.device) for w in (args.workers or [0])],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
