"""Training-loop parts that do not depend on the model: progress, LR schedule, time budget, throughput,
torchrun/DDP set-up and per-process batch slices. Checkpoint files are :mod:`sfcli.train.common`'s.

Used by ``train-filter`` (:mod:`sfcli.train.filter`); written so that ``train-words`` can move onto it.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from sfcli.errors import SfcliError
from sfcli.train.common import DistInfo, cleanup_distributed, init_distributed


class Reporter:
    """Rich progress on a TTY (main process only); one plain line per validation otherwise."""

    def __init__(self, name: str, total: int, enabled: bool, start: int = 0) -> None:
        self.enabled = enabled
        self.progress: Any = None
        self.info = ""
        self.val = ""
        if enabled and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn(f"[bold]{name}[/]"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
            )
            self.progress.start()
            self.task = self.progress.add_task("train", total=total, completed=start, info="")

    def note(self, text: str) -> None:
        """Print one line (above the progress bar on a TTY)."""
        if not self.enabled:
            return
        if self.progress is not None:
            self.progress.console.print(text, markup=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def step(self, step: int, info: str) -> None:
        """Step ``step`` is done; ``info`` describes the training state (loss, speed)."""
        self.info = info
        if self.progress is not None:
            self.progress.update(self.task, completed=step, info=self.info + self.val)

    def validation(self, step: int, text: str) -> None:
        """Show the latest validation ``text`` (kept beside the step info); a plain line without a TTY."""
        self.val = text
        if self.progress is not None:
            self.progress.update(self.task, info=self.info + self.val)
        else:
            self.note(f"step {step}  {self.info}{self.val}")

    def close(self) -> None:
        """Stop the progress bar."""
        if self.progress is not None:
            self.progress.stop()


def lr_at(step: int, *, lr: float, warmup: int, steps: int, schedule: str = "cosine") -> float:
    """Learning rate at ``step``: linear warm-up over ``warmup`` steps, then ``constant`` or ``cosine``
    decay to 5 % of ``lr`` at ``steps``."""
    if step < warmup:
        return lr * (step + 1) / max(1, warmup)
    if schedule == "cosine":
        t = min(1.0, (step - warmup) / max(1, steps - warmup))
        return lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * t)))
    return lr


def set_lr(optim: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate to ``lr`` times its ``lr_scale`` (default 1)."""
    for g in optim.param_groups:
        g["lr"] = lr * g.get("lr_scale", 1.0)


class TimeBudget:
    """``max_seconds`` of wall time from now; every process stops at the same step (all-reduce)."""

    def __init__(self, max_seconds: float | None, device: torch.device, info: DistInfo) -> None:
        self.max_seconds, self.device, self.info = max_seconds, device, info
        self.start = time.monotonic()

    def spent(self) -> bool:
        """True once the budget is used up on any process (a collective call under DDP)."""
        if self.max_seconds is None:
            return False
        stop = torch.tensor(float(time.monotonic() - self.start > self.max_seconds), device=self.device)
        if self.info.enabled:
            torch.distributed.all_reduce(stop)
        return bool(stop.item() > 0)


class Throughput:
    """Examples per second over windows of about ``window`` seconds."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self.mark, self.count, self.rate = time.monotonic(), 0, 0.0

    def add(self, examples: int) -> float:
        """Count ``examples`` more; returns the current rate."""
        self.count += examples
        now = time.monotonic()
        if now - self.mark > 0:
            self.rate = self.count / (now - self.mark)
        if now - self.mark > self.window:
            self.mark, self.count = now, 0
        return self.rate


@contextmanager
def distributed_run(device_name: str) -> Iterator[tuple[torch.device, DistInfo]]:
    """Resolve the device, join the torchrun process group if any (leaving it at exit); yields both."""
    from sfcli.pretrained import resolve_device

    device = resolve_device(device_name)
    info = init_distributed(device)
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    try:
        yield device, info
    finally:
        cleanup_distributed()


def wrap_ddp(model: nn.Module, device: torch.device, info: DistInfo) -> nn.Module:
    """``model`` in DistributedDataParallel under torchrun, else ``model`` itself."""
    if not info.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def local_batch_size(global_batch: int, info: DistInfo) -> int:
    """This process's share of a global batch (which must split evenly)."""
    local = global_batch // info.world_size
    if local < 1 or local * info.world_size != global_batch:
        raise SfcliError(f"batch size {global_batch} must be a multiple of the {info.world_size} processes")
    return local


def step_indices(step: int, global_batch: int, info: DistInfo) -> list[int]:
    """The global example numbers this process trains on at ``step`` (its slice of the global batch)."""
    local = local_batch_size(global_batch, info)
    base = step * global_batch + info.rank * local
    return list(range(base, base + local))


def cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of ``model``'s state dict (for checkpoints and best-so-far weights)."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def due(step: int, every: int, total: int) -> bool:
    """True at every ``every``-th step and at the last one."""
    return step % every == 0 or step == total


__all__ = [
    "Reporter",
    "Throughput",
    "TimeBudget",
    "cpu_state",
    "distributed_run",
    "due",
    "local_batch_size",
    "lr_at",
    "set_lr",
    "step_indices",
    "wrap_ddp",
]
