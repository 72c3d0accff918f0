"""Average (or extrapolate) the weights of SoundFilter models of one lineage into a model folder.

    .venv/bin/python scripts/average_filters.py ~/.cache/sfcli/runs/filter-v5 \\
        ~/.cache/sfcli/runs/filter-v5:last -o ~/.cache/sfcli/runs/soup-v5 --fp32
    .venv/bin/python scripts/average_filters.py V13 V10 --weights 1.5 -0.5 --keep refiner. -o OUT

The first is a "model soup" (the uniform mean). ``--weights`` gives each source its own coefficient
(they must sum to 1); a negative one extrapolates: ``V13 V10 --weights 1.5 -0.5`` goes half as far
again beyond V13 along the path from V10 to V13 (measured, not shipped: docs/notebook/
realworld-ablation.md, "Extrapolating along the fine-tunes, and the small gains combined"). ``--keep
PREFIX`` takes the tensors whose names start with PREFIX from the first source unchanged (e.g.
``refiner.``, the post-filter's mask refiner).

Each source is a model folder (``config.json`` + ``model.safetensors``), a training run folder (its
selected best state, as ``scripts/export_filter.py`` takes it) or ``RUN:last`` (the run's last step).
All sources must share one configuration; only fine-tuned descendants of one model average sensibly.
The weighted sum is taken in float32.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from sfcli.filter_model import SoundFilter, SoundFilterConfig
from sfcli.train.common import load_checkpoint


def load_source(spec: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """``(config dict, float32 state dict)`` of a model folder, a run folder or ``RUN:last``."""
    path, _, which = spec.partition(":")
    folder = Path(path).expanduser()
    if (folder / "checkpoint.pt").exists():
        state = load_checkpoint(folder / "checkpoint.pt")
        if state is None:
            raise SystemExit(f"unreadable checkpoint in {folder}")
        best = state.get("best") or {}
        weights = state["model"] if which == "last" or best.get("state") is None else best["state"]
        config = dict(state["model_config"])
    elif which:
        raise SystemExit(f"{spec}: ':last' needs a training run folder")
    else:
        model = SoundFilter.from_pretrained(folder)
        weights, config = model.state_dict(), model.config.to_dict()
    return config, {k: v.detach().float() for k, v in weights.items()}


def combine(
    states: list[dict[str, torch.Tensor]], weights: list[float], keep: tuple[str, ...] = ()
) -> dict[str, torch.Tensor]:
    """``sum_i weights[i] * states[i]`` per tensor; tensors named with a ``keep`` prefix come from
    ``states[0]`` unchanged. Raises ``ValueError`` unless the weights sum to 1 (one per state)."""
    if len(weights) != len(states) or abs(sum(weights) - 1.0) > 1e-6:
        raise ValueError(f"need one weight per source, summing to 1 (got {weights})")
    out = {}
    for key, first in states[0].items():
        if keep and key.startswith(keep):
            out[key] = first.clone()
        else:
            out[key] = sum(w * sd[key] for w, sd in zip(weights, states, strict=True))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", help="model folders, run folders or RUN:last")
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--weights", type=float, nargs="+", help="one coefficient per source (default: the mean)")
    parser.add_argument("--keep", action="append", default=[], help="tensor-name prefix taken from the first source")
    parser.add_argument("--fp32", action="store_true", help="write float32 weights (default fp16)")
    args = parser.parse_args()
    loaded = [load_source(s) for s in args.sources]
    config = loaded[0][0]
    for spec, (cfg, _) in zip(args.sources, loaded, strict=True):
        if SoundFilterConfig.from_dict(cfg) != SoundFilterConfig.from_dict(config):
            raise SystemExit(f"{spec} has another configuration than {args.sources[0]}")
    weights = args.weights or [1.0 / len(loaded)] * len(loaded)
    try:
        mixed = combine([sd for _, sd in loaded], weights, tuple(args.keep))
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    model = SoundFilter(SoundFilterConfig.from_dict(config))
    model.load_state_dict(mixed)
    model.save_pretrained(args.out, half=not args.fp32)
    print(
        json.dumps(
            {
                "out": str(args.out),
                "sources": args.sources,
                "weights": weights,
                "keep": args.keep,
                "parameters": model.num_parameters(),
            }
        )
    )


if __name__ == "__main__":
    main()
