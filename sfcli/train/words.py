"""Training loop behind ``sfcli train-words``: contrastive training of SoundWords' projection heads.

What is trained, and why (measured on 2 CPU threads): the aiSFX audio CNN runs at about 20
windows/s forward, so back-propagating through it would give ~5 examples/s — a few thousand pairs
per hour. Both backbones are therefore frozen and their features cached once per clip window
(``features.pt``) and per text (``text_features.pt``) in the run folder; training then updates only
the two projection heads and the temperature, at thousands of pairs per second, with large batches.

Determinism and resume: every random choice of step ``t`` (which clips, which window, which
description) comes from ``numpy.random.default_rng((seed, t))``, so the run is a pure function of the
step counter. Checkpoints (``checkpoint.pt``, written atomically) hold the trainable weights, the
optimizer, all RNG states and the best validation state; running the same command again continues
from the last one and ends with the same weights as an uninterrupted run.

Several processes (``torchrun --nproc_per_node N --no-python sfcli train-words ...``): each process takes
its slice of the global batch, embeddings are gathered with :func:`all_gather_with_grad` so that the
negatives span the whole global batch, and DistributedDataParallel averages the gradients.

Parts: :mod:`~sfcli.train.words_data` (pairs, splits), :mod:`~sfcli.train.words_features` (feature
caches), :mod:`~sfcli.train.words_batches` (tables, the draw of each step), :mod:`~sfcli.train.words_heads`
(trainable heads, validation), :mod:`~sfcli.train.words_run` (run state, step, checkpoints); the
progress, LR schedule and DDP set-up are :mod:`sfcli.train.loop`'s, shared with ``train-filter``. This
module holds the options, the model set-up and the outline of a run, and re-exports the parts' names.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sfcli.errors import SfcliError
from sfcli.losses import contrastive_loss
from sfcli.train.common import DistInfo, set_seed
from sfcli.train.export import export_model_folder, strict_json
from sfcli.train.loop import Reporter, Throughput, distributed_run, due
from sfcli.train.words_batches import build_tables, sampling_weights
from sfcli.train.words_data import (
    VALID_NAMES,
    PairSource,
    _hash_fraction,
    cap_per_category,
    corpus_sources,
    holdout_split,
    manifest_sources,
    sources_from_corpus,
    split_of,
    split_sources,
)
from sfcli.train.words_features import (
    backbone_fingerprint,
    cache_features,
    cache_text_features,
    extract_audio_features,
    spread,
)
from sfcli.train.words_heads import copy_text_head, lock_text_head, trainable_state, validate
from sfcli.train.words_run import RunSplits, WordsRun, split_run
from sfcli.words import SoundWords, SoundWordsConfig
from sfcli.words_eval import category_prompt


@dataclass
class TrainWordsOptions:
    """Settings of one training run (saved in the checkpoint)."""

    run_dir: Path
    out: Path | None = None
    steps: int = 2000
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 50
    seed: int = 0
    eval_every: int = 100
    checkpoint_every: int = 100
    max_windows: int = 4
    group_by: str = "category"
    init_audio: str = "aisfx"
    keep_best: bool = True
    text_struct: float = 0.0
    max_per_category: int = 0
    balance_categories: float = 0.0
    holdout_categories: float = 0.0
    lock_text: bool = False
    text_soft: float = 0.0
    text_soft_temperature: float = 0.05
    category_text: bool = False
    text_head_from: Path | None = None
    test_eval: bool = False
    cache_dir: Path | None = None
    device: str = "cpu"
    model_config: SoundWordsConfig = field(default_factory=SoundWordsConfig)


def build_model(opts: TrainWordsOptions, device: torch.device) -> SoundWords:
    """A fresh model for ``opts`` (seeded), audio CNN warm-started from aiSFX when asked."""
    set_seed(opts.seed)
    cfg = opts.model_config
    if opts.init_audio == "aisfx":  # frozen, so saved folders point at the wheel instead of copying it
        cfg = dataclasses.replace(cfg, audio_backbone_weights="aisfx")
    model = SoundWords(cfg)
    if opts.init_audio == "aisfx":
        model.load_aisfx()
    elif opts.init_audio not in ("none", "random"):
        raise SfcliError(f"unknown --init-audio {opts.init_audio!r} (aisfx or none)")
    model.to(device)
    for p in model.audio_backbone.parameters():
        p.requires_grad_(False)
    return model


def train_words(
    opts: TrainWordsOptions,
    sources: Sequence[PairSource],
    *,
    progress: bool = True,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Train (or continue training) SoundWords' heads; returns a summary dict.

    ``stop_after`` ends the process's work after that many steps of this call (tests use it to
    simulate an interruption); a later call continues from the checkpoint.
    """
    with distributed_run(opts.device) as (device, info):
        run_dir = Path(opts.run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        reporter = Reporter("train-words", opts.steps, progress and info.is_main)
        try:
            return _train(opts, sources, device, info, run_dir, reporter, stop_after)
        finally:
            reporter.close()


def _prepare(
    opts: TrainWordsOptions, splits: RunSplits, device: torch.device, info: DistInfo, run_dir: Path, reporter: Reporter
) -> tuple[WordsRun, dict[str, torch.Tensor], float]:
    """Model, cached features (and the seconds they took), tables, text head and optimizer; resumed."""
    model = build_model(opts, device)
    t0 = time.monotonic()
    cache_dir = Path(opts.cache_dir) if opts.cache_dir is not None else run_dir
    feats = cache_features(
        model,
        splits.every(),
        cache_dir,
        max_windows=opts.max_windows,
        init_audio=opts.init_audio,
        info=info,
        reporter=reporter,
    )
    feature_seconds = time.monotonic() - t0
    tables = build_tables(
        model,
        splits.train,
        feats,
        group_by=opts.group_by,
        balance_categories=opts.balance_categories,
        category_text=opts.category_text,
    )
    description_texts = list(dict.fromkeys(t for s in splits.train for t in s.descriptions))
    if opts.text_head_from is not None:
        copy_text_head(model, opts.text_head_from)
    elif opts.lock_text:  # fitted on the descriptions only, so --category-text leaves the space as it is
        lock_text_head(model, torch.stack([model.text_cache[t] for t in description_texts]).float())
    run = WordsRun(opts, model, tables, device, info, run_dir)
    run.resume(reporter, run_dir)
    return run, feats, feature_seconds


def _train(
    opts: TrainWordsOptions,
    sources: Sequence[PairSource],
    device: torch.device,
    info: DistInfo,
    run_dir: Path,
    reporter: Reporter,
    stop_after: int | None,
) -> dict[str, Any]:
    splits = split_run(opts, sources)
    run, feats, feature_seconds = _prepare(opts, splits, device, info, run_dir, reporter)
    p = run.progress
    done_here = 0
    last_loss: float | None = None  # none when the run was already at --steps (JSON null, not NaN)
    speed = Throughput(5.0)
    while p.step < opts.steps and (stop_after is None or done_here < stop_after):
        last_loss = run.step()
        done_here += 1
        eps = speed.add(run.global_batch)
        reporter.step(p.step, f"loss {last_loss:.3f}  {eps:,.0f} ex/s  T {run.model.temperature():.3f}")
        if due(p.step, opts.eval_every, opts.steps):
            run.validate(splits, feats, last_loss, reporter)
        if due(p.step, opts.checkpoint_every, opts.steps):
            run.save()
    summary: dict[str, Any] = {
        "step": p.step,
        "finished": p.step >= opts.steps,
        "loss": last_loss,
        "temperature": run.model.temperature(),
        "train_clips": len(run.tables.clips),
        "valid_clips": len(splits.valid),
        "global_batch": run.global_batch,
        "feature_seconds": round(feature_seconds, 1),
        "train_seconds": round(p.train_seconds, 1),
        "best_step": p.best["step"],
        "best_valid": p.best["metrics"],
    }
    if summary["finished"] and info.is_main:
        _finish(opts, run, splits, feats, summary, run_dir)
    return summary


def _finish(
    opts: TrainWordsOptions,
    run: WordsRun,
    splits: RunSplits,
    feats: dict[str, torch.Tensor],
    summary: dict[str, Any],
    run_dir: Path,
) -> None:
    """The best weights, test and unseen-category scores, the model folder and ``summary.json``."""
    model, best = run.model, run.progress.best
    if opts.keep_best and best["state"] is not None:
        model.load_state_dict({**model.state_dict(), **best["state"]})
    if splits.test:
        summary["test"] = validate(model, splits.test, feats)
        summary["test_clips"] = len(splits.test)
    if splits.unseen_valid or splits.unseen_test:
        summary["unseen_valid"] = validate(model, splits.unseen_valid, feats, per_category=True)
        summary["unseen_test"] = validate(model, splits.unseen_test, feats, per_category=True)
        summary["unseen_categories"] = {
            "valid": sorted({s.category for s in splits.unseen_valid if s.category}),
            "test": sorted({s.category for s in splits.unseen_test if s.category}),
        }
    if opts.out is not None:
        prompts = [category_prompt(x.category) for x in splits.kept if x.category]
        descs = [d for x in splits.kept for d in x.descriptions]
        cached = list(dict.fromkeys([*prompts, *descs]))[:4000]
        texts = [t for t in cached if t in model.text_cache]
        export_model_folder(Path(opts.out), lambda folder: model.save_pretrained(folder, text_cache=texts))
        summary["model"] = str(opts.out)
    (run_dir / "summary.json").write_text(json.dumps(strict_json(summary), indent=2, default=str) + "\n")


__all__ = [
    "VALID_NAMES",
    "PairSource",
    "TrainWordsOptions",
    "_hash_fraction",
    "backbone_fingerprint",
    "build_model",
    "cache_text_features",
    "cap_per_category",
    "contrastive_loss",
    "copy_text_head",
    "corpus_sources",
    "extract_audio_features",
    "holdout_split",
    "lock_text_head",
    "manifest_sources",
    "sampling_weights",
    "sources_from_corpus",
    "split_of",
    "split_sources",
    "spread",
    "train_words",
    "trainable_state",
    "validate",
]
