"""Time one SoundFilter training step and one inference call on the CPU: eager fp32, bf16 autocast, or
torch.compile (the question: can CPU training go faster without changing the model?).

    python experiments/train_step_speed.py eager|bf16|compile [--threads 2] [--batch 16] [--context-units N]

A step is what ``train-filter`` does per batch, reduced to the network: the shipped model (in fp32) on
``--batch`` random 2 s mixtures with random unit queries, post-filter on, an MSE loss on target and
residual in fp32, backward, Adam. Prints the first step (compilation included) and the median / min of
the next 8 steps, then the same for a 2-row inference call (median / min of 10). The result is recorded
in docs/notebook/speed-and-memory.md, "Training step on the CPU: bf16 autocast and torch.compile".
``--context-units N`` adds N untrained bottleneck context units to the shipped model (their cost;
docs/notebook/realworld-ablation.md, "Capacity at the bottleneck").
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import torch


def _timed(fn: Callable[[], None], repeats: int) -> tuple[float, float, float]:
    """(first call, median, min of the next ``repeats`` calls) in seconds."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, sorted(times)[len(times) // 2], min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["eager", "bf16", "compile"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--context-units", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from sfcli.filter_model import SoundFilter, SoundFilterConfig
    from sfcli.train.filter_state import load_init_weights

    model = SoundFilter.from_pretrained("models/soundfilter").float()
    if a.context_units:  # the shipped weights, warm-started as train-filter --init does (units = identity)
        model = SoundFilter(SoundFilterConfig.from_dict({**model.config.to_dict(), "context_units": a.context_units}))
        load_init_weights(model, Path("models/soundfilter"))
    n = int(2 * model.config.sample_rate)
    g = torch.Generator().manual_seed(0)
    x = 0.1 * torch.randn(a.batch, 1, n, generator=g)
    t = 0.05 * torch.randn(a.batch, 1, n, generator=g)
    cond = torch.nn.functional.normalize(torch.randn(a.batch, 64, generator=g), dim=-1)
    net = torch.compile(model) if a.mode == "compile" else model
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if a.mode == "bf16" else contextlib.nullcontext
    opt = torch.optim.Adam(model.parameters(), 1e-5)

    def step() -> None:
        with autocast():
            target, residual = net(x, cond, postfilter=True)
        loss = ((target.float() - t) ** 2).mean() + ((residual.float() - (x - t)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    model.train()
    first, median, best = _timed(step, 8)
    print(f"{a.mode} train step (batch {a.batch}): first {first:.2f} s, median {median:.3f} s, min {best:.3f} s")
    model.eval()

    def infer() -> None:
        with torch.inference_mode(), autocast():
            net(x[:2], cond[:2], postfilter=True)

    first, median, best = _timed(infer, 10)
    print(f"{a.mode} inference (2 rows): first {first:.2f} s, median {median:.4f} s, min {best:.4f} s")


if __name__ == "__main__":
    main()
