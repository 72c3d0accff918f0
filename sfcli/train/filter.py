"""Training behind ``sfcli train-filter``: SoundFilter on corpus mixtures, conditioned by SoundWords.

Recipe (paper §3.3.1):

* every example is a 2 s mixture ``target + gain · background`` (±4 dB) from a mixing dataset
  (:mod:`sfcli.train.datasets`), typed and normalised by :mod:`sfcli.train.examples`;
* the conditioning vector is the SoundWords **text** embedding of one of the target's descriptions with
  probability ``text_rate`` (default 0.3, the paper's Table 1 setting), otherwise the SoundWords **audio**
  embedding of the dataset's disjoint 2 s conditioning crop of the same clip; with ``text_expansion``
  the text embedding goes through the SoundWords audio bank as at inference (:mod:`sfcli.train.conditioning`);
* loss: ``softplus(30 − SI-SDR)`` of target and of residual, plus the consistency loss
  ``softplus(30 − SNR(target + residual, mixture))`` (:func:`sfcli.losses.separation_loss`), with the
  ablation switches ``consistency_loss`` / ``residual_output`` / ``projection``; with ``postfilter`` the
  target is scored after the model's spectral post-filter (:meth:`SoundFilter.postfilter`, residual =
  mixture − target), in training and validation, as :class:`sfcli.api.Separator` outputs it (all three
  through :meth:`SoundFilter.separate`, the training step by way of ``forward`` and DDP); a model
  config with ``refiner_channels > 0`` adds a learned mask refiner to that post-filter, trained at
  ``refiner_lr_scale`` times the learning rate;
* ``residual_queries``: a share of examples becomes ``--two-pass``'s second pass
  (:mod:`sfcli.train.residual_queries`); ``query_noise``: noise on the training queries, ``query_lean``:
  each query of a swapped pair moved towards the other (:mod:`sfcli.train.query_noise`);
* checkpoint selection with SoundWords in place of VGGish: every ``eval_every`` steps the model separates
  a fixed validation mixture set; the checkpoint whose target outputs are closest to the true targets in
  SoundWords audio-embedding (cosine) distance is kept, and validation SI-SDRi is logged beside it
  (:mod:`sfcli.train.filter_validation`).

CPU throughput: SoundWords never trains here. Text embeddings of every description are computed once
(cached on disk in the run folder, ``text_embeddings.pt``); audio embeddings of conditioning crops are
computed per batch in a prefetch thread together with data loading (:class:`sfcli.train.feed.BatchFeed`).
With ``workers = N > 0`` (``--workers``, for GPUs) N DataLoader processes draw the examples and cut audio
queries into the SoundWords tower's windows; the batches are the same either way.
``reuse_cond_embeddings = K > 0`` additionally keeps up to K conditioning-crop embeddings per clip and
reuses them once K are stored (cheaper, but an approximation).

Determinism and resume: example ``i`` of the run is dataset item ``i``; the text/audio choice and
description of example ``i`` come from ``numpy.random.default_rng((seed, 7, i))``. The run is therefore a
pure function of the step counter, and checkpoints (``checkpoint.pt``, atomic) hold weights, optimizer
state, the best validation state and the history: running the same command again continues where the
last checkpoint left off and ends with the same weights as an uninterrupted run.

Several processes (``torchrun --nproc_per_node N --no-python sfcli train-filter ...``): each process takes its
slice of every global batch and DistributedDataParallel averages gradients (gloo on CPU, nccl on CUDA).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sfcli.embedder import Embedder
from sfcli.errors import SfcliError
from sfcli.filter_model import SoundFilter, SoundFilterConfig
from sfcli.losses import separation_loss, si_sdr
from sfcli.train import filter_state
from sfcli.train.common import DistInfo, set_seed
from sfcli.train.conditioning import ConditioningCache, TextExpander, build_cache, words_fingerprint
from sfcli.train.datasets import corpus_datasets, manifest_datasets
from sfcli.train.examples import Batch, BatchPlan, ExampleTransform
from sfcli.train.export import export_model_folder, strict_json
from sfcli.train.feed import BatchFeed
from sfcli.train.filter_state import RunState, load_init_weights
from sfcli.train.filter_validation import ValidationSet, build_validation, validate
from sfcli.train.loop import (
    Reporter,
    Throughput,
    TimeBudget,
    cpu_state,
    distributed_run,
    due,
    local_batch_size,
    lr_at,
    set_lr,
    step_indices,
    wrap_ddp,
)
from sfcli.train.query_noise import leaning_queries, noisy_queries
from sfcli.train.residual_queries import residual_queries, residual_rows


@dataclass
class TrainFilterOptions:
    """Settings of one training run (the model-shaping ones are checked again on resume).

    A new option: add a field with a default here (old checkpoints store options as strings only for
    the record, so resuming is unaffected), then a CLI flag in :mod:`sfcli.cli.train_filter`.
    """

    run_dir: Path
    out: Path | None = None
    steps: int = 20000
    batch_size: int = 16
    lr: float = 1e-3
    warmup: int = 100
    lr_schedule: str = "constant"
    grad_clip: float = 5.0
    seed: int = 0
    text_rate: float = 0.3
    consistency_loss: bool = True
    residual_output: bool = True
    projection: bool = False
    postfilter: bool = False
    refiner_lr_scale: float = 10.0
    context_lr_scale: float = 1.0
    residual_queries: float = 0.0  # share of examples turned into second-pass examples (residual_queries.py)
    query_noise: float = 0.0  # largest per-dimension std of the noise added to training queries (query_noise.py)
    query_lean: float = 0.0  # largest share of a swapped pair's other query added to each of its queries
    bf16: bool = False  # forward pass under bfloat16 autocast; weights, loss and optimizer stay fp32
    eval_every: int = 250
    checkpoint_every: int = 50
    valid_size: int = 64
    reuse_cond_embeddings: int = 0
    text_expansion: bool = False
    prefetch: bool = True
    workers: int = 0
    max_seconds: float | None = None
    init: Path | None = None
    sample_rate: int = 16000
    device: str = "cpu"
    model_config: SoundFilterConfig = field(default_factory=SoundFilterConfig)

    def effective_model_config(self) -> SoundFilterConfig:
        """The model config with the ablation switches applied."""
        cfg = SoundFilterConfig.from_dict(self.model_config.to_dict())
        cfg.residual_output = self.residual_output
        cfg.consistency = "projection" if self.projection else "none"
        return cfg

    @property
    def use_consistency_loss(self) -> bool:
        """The soft consistency term only makes sense with two free outputs and no exact projection."""
        return self.consistency_loss and self.residual_output and not self.projection

    def check(self) -> None:
        """Raise :class:`SfcliError` for settings that cannot train."""
        if not 0.0 <= self.text_rate <= 1.0:
            raise SfcliError(f"the training text rate must be in [0, 1], not {self.text_rate}")
        if self.batch_size < 1 or self.steps < 1:
            raise SfcliError("steps and batch size must be positive")
        if self.model_config.refiner_channels and not self.postfilter:
            raise SfcliError("a mask refiner is trained through the post-filter: add --postfilter")
        if self.postfilter and not self.model_config.postfilter_fft:
            raise SfcliError("--postfilter needs a post-filter size (--postfilter-fft > 0)")
        if not 0.0 <= self.query_noise <= 1.0:
            raise SfcliError(f"--query-noise must be in [0, 1], not {self.query_noise}")
        if not 0.0 <= self.query_lean < 1.0:
            raise SfcliError(f"--query-lean must be in [0, 1), not {self.query_lean}")


@dataclass
class _Run:
    """Everything one training call works with."""

    opts: TrainFilterOptions
    cfg: SoundFilterConfig
    model: SoundFilter
    ddp: nn.Module
    optim: torch.optim.Optimizer
    words: Embedder
    cache: ConditioningCache
    val: ValidationSet | None
    device: torch.device
    info: DistInfo
    run_dir: Path
    reporter: Reporter
    state: RunState


def train_filter(
    opts: TrainFilterOptions,
    train_data: Any,
    valid_data: Any,
    words: Embedder,
    *,
    descriptions: Sequence[str] = (),
    progress: bool = True,
    stop_after: int | None = None,
    transform: ExampleTransform | None = None,
) -> dict[str, Any]:
    """Train (or continue training) a SoundFilter; returns a summary dict.

    ``train_data`` / ``valid_data`` are mixing datasets (:mod:`sfcli.train.datasets`); ``words`` embeds
    text and audio; ``descriptions`` are embedded up front. ``transform`` changes each training example
    before normalisation (:func:`sfcli.train.examples.draw_example`; validation examples are not
    transformed). ``stop_after`` ends this call after that many steps (tests use it to simulate an
    interruption).
    """
    opts.check()
    with distributed_run(opts.device) as (device, info):
        run_dir = Path(opts.run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        reporter = Reporter("train-filter", opts.steps, progress and info.is_main)
        try:
            run, setup_seconds = _setup(opts, valid_data, train_data, words, descriptions, device, info, reporter)
            plan = BatchPlan(
                train_data,
                opts.seed,
                opts.text_rate,
                lambda s: step_indices(s, opts.batch_size, info),
                opts.sample_rate,
                transform,
            )
            _train(run, plan, stop_after)
            return _finish(run, setup_seconds)
        finally:
            reporter.close()


def _setup(
    opts: TrainFilterOptions,
    valid_data: Any,
    train_data: Any,
    words: Embedder,
    descriptions: Sequence[str],
    device: torch.device,
    info: DistInfo,
    reporter: Reporter,
) -> tuple[_Run, float]:
    """Model, optimizer, conditioning, validation set and resumed state (in this order: the RNG draws
    of a run depend on it)."""
    cfg = opts.effective_model_config()
    set_seed(opts.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes; GPU runs are not bitwise reproducible anyway
    model = SoundFilter(cfg).to(device)
    model.train()
    optim = torch.optim.Adam(filter_state.param_groups(model, opts.refiner_lr_scale, opts.context_lr_scale), lr=opts.lr)
    t0 = time.monotonic()
    run_dir = Path(opts.run_dir)
    cache = build_cache(
        words,
        train_data,
        descriptions,
        opts.sample_rate,
        opts.text_expansion,
        opts.reuse_cond_embeddings,
        info,
        run_dir,
        note=reporter.note,
    )
    val = build_validation(valid_data, cache, opts.valid_size, opts.seed, opts.text_rate) if info.is_main else None
    setup_seconds = time.monotonic() - t0
    state = filter_state.resume(opts, cfg, model, optim, run_dir, reporter)
    ddp = wrap_ddp(model, device, info)
    local_batch_size(opts.batch_size, info)
    run = _Run(opts, cfg, model, ddp, optim, words, cache, val, device, info, run_dir, reporter, state)
    return run, setup_seconds


def _save(run: _Run) -> None:
    """Write the checkpoint (main process only; atomic)."""
    if run.info.is_main:
        filter_state.save(run.run_dir, run.state, run.model, run.optim, run.cfg, run.opts)


def _train(run: _Run, plan: BatchPlan, stop_after: int | None) -> None:
    """Train from ``run.state.step`` to ``opts.steps`` (or ``stop_after`` steps, or the time budget)."""
    opts, s = run.opts, run.state
    end = opts.steps if stop_after is None else min(opts.steps, s.step + stop_after)
    feed = BatchFeed(plan, run.cache, s.step, end, workers=opts.workers, prefetch=opts.prefetch)
    budget, speed = TimeBudget(opts.max_seconds, run.device, run.info), Throughput()
    saved_step = s.step
    try:
        while s.step < end:
            if budget.spent():
                run.reporter.note(f"time budget of {opts.max_seconds:.0f} s spent; stopping at step {s.step}")
                break
            t_step = time.monotonic()
            batch = feed.get(s.step)
            _step(run, batch)
            s.train_seconds += time.monotonic() - t_step
            _after_step(run, batch, speed.add(opts.batch_size))
            if due(s.step, opts.checkpoint_every, opts.steps):
                _save(run)
                saved_step = s.step
        if s.step != saved_step:
            _save(run)
    finally:
        feed.close()


def _step(run: _Run, batch: Batch) -> None:
    """One optimisation step on ``batch``; fills ``run.state.last`` with the loss parts."""
    opts, s = run.opts, run.state
    set_lr(run.optim, lr_at(s.step, lr=opts.lr, warmup=opts.warmup, steps=opts.steps, schedule=opts.lr_schedule))
    if opts.residual_queries > 0:
        rows = residual_rows(opts.seed, s.step, batch, opts.residual_queries)
        batch = residual_queries(run.model, run.words, batch, rows, opts.sample_rate, opts.postfilter)
    mix = batch.mixture.to(run.device)
    cond = leaning_queries(batch.cond, batch.mixture, opts.query_lean, opts.seed, s.step, run.info.rank)
    cond = noisy_queries(cond, opts.query_noise, opts.seed, s.step, run.info.rank).to(run.device)
    with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=opts.bf16):
        tgt_est, res_est = run.ddp(mix, cond, postfilter=opts.postfilter)
    parts = separation_loss(
        tgt_est.float(),
        res_est.float(),
        batch.target.to(run.device),
        batch.background.to(run.device),
        mix,
        residual_output=opts.residual_output,
        consistency_loss=opts.use_consistency_loss,
        absent=batch.absent,
    )
    if not torch.isfinite(parts.total):
        raise SfcliError(f"the loss became {float(parts.total)} at step {s.step + 1}; lower --lr")
    run.optim.zero_grad(set_to_none=True)
    parts.total.backward()
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), opts.grad_clip)
    run.optim.step()
    s.step += 1
    s.examples += opts.batch_size
    s.last = parts.as_dict()
    sdri = float((parts.target_si_sdr.cpu() - si_sdr(batch.mixture, batch.target)).nanmean())
    s.ema_sdri = sdri if s.ema_sdri is None else 0.95 * s.ema_sdri + 0.05 * sdri
    s.last["si_sdri"] = sdri


def _after_step(run: _Run, batch: Batch, eps: float) -> None:
    """Progress, and every ``eval_every`` steps validation and best-checkpoint selection."""
    opts, s = run.opts, run.state
    run.reporter.step(s.step, f"loss {s.last['total']:.2f}  SI-SDRi {s.ema_sdri:+.2f} dB  {eps:.1f} ex/s")
    if not due(s.step, opts.eval_every, opts.steps) or not run.info.is_main or run.val is None:
        return
    metrics = validate(run.model, run.val, run.words, opts.sample_rate, run.device, postfilter=opts.postfilter)
    is_best = metrics["embedding_distance"] < s.best["distance"]
    if is_best:
        s.best = {"distance": metrics["embedding_distance"], "step": s.step, "metrics": metrics}
        s.best["state"] = cpu_state(run.model)
    s.history.append({"step": s.step, "loss": s.last["total"], "train_si_sdri": s.ema_sdri, **metrics, "best": is_best})
    dist, sdri = metrics["embedding_distance"], metrics["si_sdri"]
    run.reporter.validation(s.step, f"  val dist {dist:.4f} SI-SDRi {sdri:+.2f} dB{' *' if is_best else ''}")


def _finish(run: _Run, setup_seconds: float) -> dict[str, Any]:
    """The run's summary; a finished run also writes the selected model and ``summary.json``."""
    opts, s = run.opts, run.state
    finished = s.step >= opts.steps
    summary: dict[str, Any] = {
        "step": s.step,
        "finished": finished,
        "loss": s.last.get("total"),  # none when no step was taken (JSON null, not NaN)
        "loss_parts": s.last,
        "train_si_sdri_ema": s.ema_sdri,
        "global_batch": opts.batch_size,
        "processes": run.info.world_size,
        "examples": s.examples,
        "train_seconds": round(s.train_seconds, 1),
        "examples_per_second": round(s.examples / s.train_seconds, 2) if s.train_seconds > 0 else None,
        "setup_seconds": round(setup_seconds, 1),
        "best_step": s.best["step"],
        "best_valid": s.best["metrics"],
        "text_rate": opts.text_rate,
        "text_expansion": opts.text_expansion,
        "audio_embeddings_computed": run.cache.audio_computed,
        "audio_embeddings_reused": run.cache.audio_reused,
        "parameters": run.model.num_parameters(),
    }
    if finished and run.info.is_main:
        final = SoundFilter(run.cfg)
        final.load_state_dict(s.best["state"] if s.best.get("state") is not None else cpu_state(run.model))
        if opts.out is not None:
            export_model_folder(Path(opts.out), lambda folder: final.save_pretrained(folder, half=False))
            summary["model"] = str(opts.out)
        (run.run_dir / "summary.json").write_text(json.dumps(strict_json(summary), indent=2, default=str) + "\n")
    return summary


__all__ = [
    "ConditioningCache",
    "RunState",
    "TextExpander",
    "TrainFilterOptions",
    "ValidationSet",
    "build_validation",
    "corpus_datasets",
    "load_init_weights",
    "manifest_datasets",
    "train_filter",
    "validate",
    "words_fingerprint",
]
