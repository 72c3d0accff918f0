"""Export the selected SoundFilter of a training run as a shipped fp16 model folder.

    .venv/bin/python scripts/export_filter.py ~/.cache/sfcli/runs/filter-main models/soundfilter

Takes the checkpoint's best state (the paper's selection rule, with SoundWords embedding distance on
the fixed validation set) — also for runs stopped by ``--max-minutes`` before their last step;
``--last`` takes its latest weights instead.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from sfcli.filter_model import SoundFilter, SoundFilterConfig
from sfcli.train.common import load_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--fp32", action="store_true", help="keep float32 weights")
    parser.add_argument(
        "--last", action="store_true", help="export the checkpoint's latest weights instead of the selected best"
    )
    args = parser.parse_args()
    state = load_checkpoint(args.run_dir / "checkpoint.pt")
    if state is None:
        raise SystemExit(f"no checkpoint in {args.run_dir}")
    model = SoundFilter(SoundFilterConfig.from_dict(state["model_config"]))
    best = state["best"]
    use_best = best.get("state") is not None and not args.last
    model.load_state_dict(best["state"] if use_best else state["model"])
    model.save_pretrained(args.out, half=not args.fp32)
    # Check that fp16 storage keeps the outputs (after the model's post-filter, as Separator uses them).
    reloaded = SoundFilter.from_pretrained(args.out)
    x, c = torch.randn(1, 1, 32000), torch.nn.functional.normalize(torch.randn(1, 64), dim=1)
    with torch.no_grad():
        a, _ = model.eval().separate(x, c)
        b, _ = reloaded.separate(x, c)
    snr = 10 * torch.log10(a.pow(2).sum() / (a - b).pow(2).sum().clamp_min(1e-20))
    print(
        json.dumps(
            {
                "out": str(args.out),
                "checkpoint_step": state["step"],
                "exported": "best" if use_best else "last",
                "best_step": best["step"],
                "best_valid": best["metrics"],
                "examples": state.get("examples"),
                "train_seconds": round(state.get("train_seconds", 0.0), 1),
                "fp16_vs_fp32_output_snr_db": round(float(snr), 1),
                "bytes": (args.out / "model.safetensors").stat().st_size,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
