"""One ``sfcli train-words`` run's state and stages (see :mod:`sfcli.train.words`): its clips, the
optimizer over both heads and the temperature, the step, validation, checkpoint and resume."""

from __future__ import annotations

import ast
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from sfcli.errors import SfcliError
from sfcli.losses import contrastive_loss
from sfcli.train.common import (
    CHECKPOINT_NAME,
    DistInfo,
    all_gather_with_grad,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from sfcli.train.loop import Reporter, lr_at, set_lr, wrap_ddp
from sfcli.train.words_batches import PairBatch, PairTables
from sfcli.train.words_data import PairSource, cap_per_category, holdout_split, split_sources
from sfcli.train.words_heads import Heads, score, trainable_state, validate
from sfcli.words import SoundWords

if TYPE_CHECKING:
    from sfcli.train.words import TrainWordsOptions


@dataclass
class RunSplits:
    """The clips of a run: training sources after the category hold-out, and their parts."""

    kept: list[PairSource]
    train: list[PairSource]
    valid: list[PairSource]
    test: list[PairSource]
    unseen_valid: list[PairSource]
    unseen_test: list[PairSource]

    def every(self) -> list[PairSource]:
        """Every clip whose features the run needs, in cache order."""
        return [*self.train, *self.valid, *self.test, *self.unseen_valid, *self.unseen_test]


def split_run(opts: TrainWordsOptions, sources: Sequence[PairSource]) -> RunSplits:
    """Hold out categories, split, cap per category; an error when no training clip is left."""
    unseen_valid: list[PairSource] = []
    unseen_test: list[PairSource] = []
    kept = list(sources)
    if opts.holdout_categories > 0:
        kept, unseen_valid, unseen_test = holdout_split(sources, opts.holdout_categories)
    parts = split_sources(kept)
    train, valid = parts.get("train", []), parts.get("valid", [])
    test = parts.get("test", []) if opts.test_eval else []
    if opts.max_per_category > 0:
        train = cap_per_category(train, opts.max_per_category, opts.seed)
    if not train:
        raise SfcliError("no training clips (records with split 'train')")
    return RunSplits(kept, train, valid, test, unseen_valid, unseen_test)


@dataclass
class RunProgress:
    """What a checkpoint carries besides the weights: the step, best validation state and history."""

    step: int = 0
    best: dict[str, Any] = field(default_factory=lambda: {"score": -1.0, "step": -1, "metrics": {}, "state": None})
    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0


class WordsRun:
    """One training run's model, optimizer, batches and progress, with the step, validation, checkpoint
    and summary stages of :func:`train_words`."""

    def __init__(
        self,
        opts: TrainWordsOptions,
        model: SoundWords,
        tables: PairTables,
        device: torch.device,
        info: DistInfo,
        run_dir: Path,
    ) -> None:
        self.opts, self.model, self.tables, self.device, self.info = opts, model, tables, device, info
        self.ckpt_path = run_dir / CHECKPOINT_NAME
        self.ddp: nn.Module = wrap_ddp(Heads(model), device, info)
        head_params = [p for p in [*model.text_head.parameters(), *model.audio_head.parameters()] if p.requires_grad]
        self.params = [*head_params, model.logit_scale]
        self.optim = torch.optim.AdamW(
            [{"params": head_params}, {"params": [model.logit_scale], "weight_decay": 0.0}],
            lr=opts.lr,
            weight_decay=opts.weight_decay,
        )
        self.progress = RunProgress()
        global_batch = min(opts.batch_size, len(tables.clips))
        self.local = global_batch // info.world_size
        if self.local < 1:
            raise SfcliError("batch size smaller than the number of processes")
        self.global_batch = self.local * info.world_size

    def resume(self, reporter: Reporter, run_dir: Path) -> None:
        """Continue from the run folder's checkpoint, if there is one."""
        state = load_checkpoint(self.ckpt_path)
        if state is not None:
            try:
                self.model.load_state_dict({**self.model.state_dict(), **state["trainable"]})
            except RuntimeError as exc:
                raise SfcliError(
                    f"{self.ckpt_path} was written for a different model; use another --run-dir or the same options"
                ) from exc
            self.optim.load_state_dict(state["optimizer"])
            self.optim.param_groups[0]["weight_decay"] = self.opts.weight_decay  # not the checkpoint's
            set_rng_state(state["rng"])
            self.progress = RunProgress(state["step"], state["best"], state["history"], state.get("train_seconds", 0.0))
            reporter.note(f"resuming {run_dir} at step {self.progress.step}")
            changed = changed_options(state.get("options", {}), self.opts)
            if changed and self.info.is_main:
                warn(
                    reporter,
                    f"{self.ckpt_path} was written with other options ({', '.join(changed)}); continuing from "
                    f"step {self.progress.step} with the new ones (another --run-dir starts afresh)",
                )
        self.model.train()
        self.model.audio_backbone.eval()

    def save(self) -> None:
        """Write the checkpoint (main process only)."""
        if not self.info.is_main:
            return
        p = self.progress
        save_checkpoint(
            self.ckpt_path,
            {
                "step": p.step,
                "trainable": trainable_state(self.model),
                "optimizer": self.optim.state_dict(),
                "rng": rng_state(),
                "best": p.best,
                "history": p.history,
                "options": {k: str(v) for k, v in asdict(self.opts).items()},
                "train_seconds": p.train_seconds,
            },
        )

    def loss(self, batch: PairBatch) -> torch.Tensor:
        """The contrastive loss of ``batch`` (negatives over the global batch), plus the text-structure term."""
        opts, info, model = self.opts, self.info, self.model
        soft = self.tables.soft_targets(batch, opts.text_soft_temperature, self.device) if opts.text_soft > 0 else None
        set_lr(self.optim, lr_at(self.progress.step, lr=opts.lr, warmup=opts.warmup, steps=opts.steps))
        te, ae = self.ddp(batch.text, batch.audio)
        if info.enabled:
            te, ae = all_gather_with_grad(te), all_gather_with_grad(ae)
        groups = self.tables.groups(batch, self.device)
        loss = contrastive_loss(te, ae, model.logit_scale, groups, soft, opts.text_soft)
        if opts.text_struct > 0:
            # Keep the text head close to MiniLM's geometry (helps categories never seen in training).
            raw = torch.nn.functional.normalize(batch.text, dim=1)
            local_te = te[info.rank * self.local : (info.rank + 1) * self.local] if info.enabled else te
            loss = loss + opts.text_struct * (local_te @ local_te.t() - raw @ raw.t()).square().mean()
        return loss

    def step(self) -> float:
        """Train one step; returns its loss."""
        t_step = time.monotonic()
        p = self.progress
        batch = self.tables.draw(self.opts.seed, p.step, self.global_batch, self.info.rank, self.local, self.device)
        loss = self.loss(batch)
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 5.0)
        self.optim.step()
        with torch.no_grad():
            self.model.logit_scale.clamp_(0.0, math.log(100.0))
        p.step += 1
        p.train_seconds += time.monotonic() - t_step
        return float(loss.item())

    def validate(self, splits: RunSplits, feats: dict[str, torch.Tensor], loss: float, reporter: Reporter) -> None:
        """Validation metrics (main process), kept in the history; the best state so far is remembered."""
        if not self.info.is_main:
            return
        p = self.progress
        metrics = validate(self.model, splits.valid, feats)
        if splits.unseen_valid:
            metrics["unseen_valid"] = validate(self.model, splits.unseen_valid, feats)
        p.history.append({"step": p.step, "loss": loss, **metrics})
        show_validation(reporter, p.step, metrics, loss)
        s = score(metrics)
        if s > p.best["score"]:
            p.best = {"score": s, "step": p.step, "metrics": metrics, "state": trainable_state(self.model)}


# Options that do not change what is trained (--steps may grow to continue a finished run).
_NOT_TRAINING = ("run_dir", "out", "device", "steps", "cache_dir", "test_eval")


def changed_options(saved: dict[str, str], opts: TrainWordsOptions) -> list[str]:
    """``name old -> new`` for each training option (or model setting) that differs from the ``saved``
    ones (a checkpoint's ``options``, stored as text); options the checkpoint does not name are skipped."""
    now = asdict(opts)
    changed = []
    for key, value in now.items():
        if key in _NOT_TRAINING or key not in saved or saved[key] == str(value):
            continue
        if key != "model_config":
            changed.append(f"{key} {saved[key]} -> {value}")
            continue
        try:
            old = ast.literal_eval(saved[key])
        except (ValueError, SyntaxError):
            old = {}
        old = old if isinstance(old, dict) else {}
        changed += [f"{k} {old[k]} -> {v}" for k, v in value.items() if k in old and old[k] != v]
    return changed


def warn(reporter: Reporter, text: str) -> None:
    """Print ``sfcli: warning: text`` on stderr, even with --quiet (above the progress bar on a TTY)."""
    line = f"sfcli: warning: {text}"
    if reporter.enabled:
        reporter.note(line)
    else:
        print(line, file=sys.stderr, flush=True)


def show_validation(reporter: Reporter, step: int, metrics: dict[str, Any], loss: float) -> None:
    """Show validation ``metrics``: beside the progress bar on a TTY, else train-words' plain line."""
    r10 = metrics.get("t2a_R@10", float("nan"))
    zs = metrics.get("zeroshot_top1", float("nan"))
    text = f"  val t2a R@10 {r10:.3f} zs@1 {zs:.3f}"
    if reporter.progress is not None:
        reporter.validation(step, text)
    else:  # the plain line train-words has always printed
        reporter.val = text
        reporter.note(f"step {step} loss {loss:.4f}{text}")
