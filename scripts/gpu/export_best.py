"""Export the selected (best-validation) weights of a ``train-filter`` run folder as an fp16 model folder.

Works on a run stopped by its time budget too (the checkpoint holds the best state), so a GPU call that
runs out of time still returns a model.

    python scripts/gpu/export_best.py RUN_DIR OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from sfcli.filter_model import SoundFilter, SoundFilterConfig


def main() -> int:
    run, out = Path(sys.argv[1]), Path(sys.argv[2])
    blob = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    cfg = SoundFilterConfig.from_dict(blob["model_config"])
    model = SoundFilter(cfg)
    best = blob["best"]
    model.load_state_dict(best["state"] if best.get("state") is not None else blob["model"])
    model.save_pretrained(out, half=True)
    info = {k: blob.get(k) for k in ("step", "train_seconds", "examples", "options")}
    info.update(best_step=best["step"], best_metrics=best["metrics"], history=blob["history"])
    (out / "run.json").write_text(json.dumps(info, indent=1, default=str) + "\n")
    print(f"{run}: step {blob['step']}, best {best['step']} {best['metrics']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
