"""``train-filter`` run state: checkpoints (atomic, resumable), warm starts and parameter groups."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from sfcli.errors import SfcliError
from sfcli.filter_model import SoundFilter, SoundFilterConfig
from sfcli.train.common import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from sfcli.train.loop import Reporter, cpu_state


@dataclass
class RunState:
    """What a checkpoint carries besides weights and optimizer state."""

    step: int = 0
    train_seconds: float = 0.0
    examples: int = 0
    best: dict[str, Any] = field(
        default_factory=lambda: {"distance": math.inf, "step": -1, "metrics": {}, "state": None}
    )
    history: list[dict[str, Any]] = field(default_factory=list)
    last: dict[str, float] = field(default_factory=dict)
    ema_sdri: float | None = None


def param_groups(model: SoundFilter, refiner_scale: float, context_scale: float = 1.0) -> list[dict[str, Any]]:
    """The U-Net's parameters at the base learning rate; the mask refiner's (if any) at ``refiner_scale``
    times it and the bottleneck context units' (if any) at ``context_scale`` times it."""
    refiner = [] if model.refiner is None else list(model.refiner.parameters())
    context = list(model.context.parameters())
    ids = {id(q) for q in refiner + context}
    groups = [{"params": [q for q in model.parameters() if id(q) not in ids], "lr_scale": 1.0}]
    if refiner:
        groups.append({"params": refiner, "lr_scale": refiner_scale})
    if context:
        groups.append({"params": context, "lr_scale": context_scale})
    return groups


def load_init_weights(model: SoundFilter, path: Path) -> None:
    """Warm-start ``model`` from a SoundFilter model folder or a ``train-filter`` checkpoint file
    (its latest weights). Shapes must match; a model with a mask refiner or bottleneck context units may
    start from one without (both begin as the identity of what they add to)."""
    if path.is_dir():
        state = {k: v.float() for k, v in SoundFilter.from_pretrained(path).state_dict().items()}
    else:
        blob = load_checkpoint(path)
        if blob is None or "model" not in blob:
            raise SfcliError(f"{path} is neither a SoundFilter model folder nor a train-filter checkpoint")
        state = blob["model"]
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise SfcliError(f"the weights in {path} do not fit this model configuration") from exc
    # A model without a mask refiner may start one (it begins as the fixed post-filter), and one without
    # context units may start them (they begin as the identity); nothing else may differ.
    if unexpected or any(not k.startswith(("refiner.", "context.")) for k in missing):
        raise SfcliError(f"the weights in {path} do not fit this model configuration")


def resume(
    opts: Any,
    cfg: SoundFilterConfig,
    model: SoundFilter,
    optim: torch.optim.Optimizer,
    run_dir: Path,
    reporter: Reporter,
) -> RunState:
    """Load ``RUN_DIR/checkpoint.pt`` into the model and optimizer (or the ``init`` weights for a new run)."""
    ckpt_path = run_dir / CHECKPOINT_NAME
    saved = load_checkpoint(ckpt_path)
    if saved is None:
        if opts.init is not None:
            load_init_weights(model, Path(opts.init))
            reporter.note(f"starting from the weights in {opts.init}")
        return RunState()
    # Read through SoundFilterConfig, so checkpoints written before a config field existed still match.
    saved_cfg = saved.get("model_config")
    if saved_cfg is None or SoundFilterConfig.from_dict(saved_cfg).to_dict() != cfg.to_dict():
        raise SfcliError(
            f"{ckpt_path} was written for a different model or ablation setting; "
            "use another --run-dir or the same options"
        )
    model.load_state_dict(saved["model"])
    optim.load_state_dict(saved["optimizer"])
    reporter.note(f"resuming {run_dir} at step {saved['step']}")
    return RunState(
        saved["step"], saved.get("train_seconds", 0.0), saved.get("examples", 0), saved["best"], saved["history"]
    )


def save(
    run_dir: Path, state: RunState, model: SoundFilter, optim: torch.optim.Optimizer, cfg: SoundFilterConfig, opts: Any
) -> None:
    """Write ``RUN_DIR/checkpoint.pt`` atomically: weights, optimizer, ``state`` and the options (as text)."""
    payload = {
        "step": state.step,
        "model": cpu_state(model),
        "optimizer": optim.state_dict(),
        "best": state.best,
        "history": state.history,
        "model_config": cfg.to_dict(),
        "options": {k: str(v) for k, v in asdict(opts).items()},
        "train_seconds": state.train_seconds,
        "examples": state.examples,
    }
    save_checkpoint(run_dir / CHECKPOINT_NAME, payload)


__all__ = ["RunState", "load_init_weights", "param_groups", "resume", "save"]
