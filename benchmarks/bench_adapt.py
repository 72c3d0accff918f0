"""Cost of ``sfcli separate --adapt`` (:mod:`sfcli.adapt`): seconds to adapt SoundFilter to one query.

    .venv/bin/python benchmarks/bench_adapt.py                      # 10 steps, 2 threads, best of 2
    .venv/bin/python benchmarks/bench_adapt.py --steps 10 20 --threads 1 2 --repeats 3

Times :func:`sfcli.adapt.adapt_filter` on the shipped SoundFilter (random weights of the default
configuration when models/ has none; the cost does not depend on them) with a 3 s reference clip:
drawing the procedural backgrounds, the training steps and the copy. The adaptation is paid once per
query, not per file; separating afterwards runs at the usual speed (``bench_separate.py``). Each row
records its torch thread count and the 1-minute load average before and after: a figure measured on
a busy machine is not the machine's speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch


def _filter():
    from sfcli.errors import ModelNotFoundError
    from sfcli.filter_model import SoundFilter, SoundFilterConfig
    from sfcli.pretrained import resolve_model_dir

    try:
        return SoundFilter.from_pretrained(resolve_model_dir(None, "soundfilter")), "shipped"
    except ModelNotFoundError:
        return SoundFilter(SoundFilterConfig()), "random-init default"


def time_adapt(steps: int, n_threads: int, repeats: int) -> dict:
    """Best-of-``repeats`` seconds for one adaptation of ``steps`` steps with ``n_threads`` threads."""
    from sfcli.adapt import AdaptOptions, adapt_filter

    torch.set_num_threads(n_threads)
    model, source = _filter()
    t = np.arange(48000) / 16000
    ref = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.random.default_rng(0).standard_normal(t.size)).astype(
        np.float32
    )
    emb = np.ones(model.config.cond_dim, np.float32) / np.sqrt(model.config.cond_dim)
    load_before = os.getloadavg()[0]
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        adapt_filter(model, [(ref, 16000)], emb, AdaptOptions(steps=steps))
        best = min(best, time.perf_counter() - started)
    return {
        "model": source,
        "steps": steps,
        "threads": n_threads,
        "seconds": round(best, 2),
        "seconds_per_step": round(best / max(steps, 1), 3),
        "load_avg_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: prints one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, nargs="+", default=[10])
    ap.add_argument("--threads", type=int, nargs="+", default=[2])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    rows = [time_adapt(s, t, args.repeats) for t in args.threads for s in args.steps]
    print(json.dumps({"machine": platform.processor() or platform.machine(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
