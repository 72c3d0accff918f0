"""Average the weights of SoundFilter models of one lineage (a "model soup") into a model folder.

    .venv/bin/python scripts/average_filters.py ~/.cache/sfcli/runs/filter-v5 \\
        ~/.cache/sfcli/runs/filter-v5:last -o ~/.cache/sfcli/runs/soup-v5 --fp32

Each source is a model folder (``config.json`` + ``model.safetensors``), a training run folder (its
selected best state, as ``scripts/export_filter.py`` takes it) or ``RUN:last`` (the run's last step).
All sources must share one configuration; only fine-tuned descendants of one model average sensibly.
The uniform mean is taken in float32.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", help="model folders, run folders or RUN:last")
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--fp32", action="store_true", help="write float32 weights (default fp16)")
    args = parser.parse_args()
    loaded = [load_source(s) for s in args.sources]
    config = loaded[0][0]
    for spec, (cfg, _) in zip(args.sources, loaded, strict=True):
        if SoundFilterConfig.from_dict(cfg) != SoundFilterConfig.from_dict(config):
            raise SystemExit(f"{spec} has another configuration than {args.sources[0]}")
    keys = loaded[0][1].keys()
    mean = {k: torch.stack([sd[k] for _, sd in loaded]).mean(dim=0) for k in keys}
    model = SoundFilter(SoundFilterConfig.from_dict(config))
    model.load_state_dict(mean)
    model.save_pretrained(args.out, half=not args.fp32)
    print(json.dumps({"out": str(args.out), "sources": args.sources, "parameters": model.num_parameters()}))


if __name__ == "__main__":
    main()
