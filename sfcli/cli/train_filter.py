"""``sfcli train-filter``: train SoundFilter (resumable; several processes through torchrun)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sfcli.cli import train_filter_options as opt
from sfcli.cli.common import err_console

EPILOG = """\
**Examples**

```
sfcli train-filter                                  # corpus (~/.cache/sfcli/corpus), models/soundwords
sfcli train-filter --steps 20000 --out models/soundfilter --force   # replace the shipped model
sfcli train-filter                                  # again: continues from the last checkpoint
sfcli train-filter --no-consistency-loss --run-dir runs/abl-noc     # paper Table 1 ablations
sfcli train-filter --no-residual-output --run-dir runs/abl-nores
sfcli train-filter --projection --run-dir runs/proj                  # exact mixture consistency
OMP_NUM_THREADS=1 torchrun --nproc_per_node 2 --no-python sfcli train-filter --batch-size 32   # DDP, gloo
```
"""


def train_filter_cmd(
    corpus: opt.Corpus = None,
    manifest: opt.Manifest = None,
    words: opt.Words = None,
    run_dir: opt.RunDir = None,
    out: opt.Out = None,
    force: opt.Force = False,
    steps: opt.Steps = 20000,
    batch_size: opt.BatchSize = 16,
    lr: opt.Lr = 1e-3,
    warmup: opt.Warmup = 100,
    lr_schedule: opt.LrSchedule = "constant",
    seed: opt.Seed = 0,
    text_rate: opt.TextRate = 0.3,
    consistency_loss: opt.ConsistencyLoss = True,
    residual_output: opt.ResidualOutput = True,
    projection: opt.Projection = False,
    postfilter: opt.Postfilter = False,
    postfilter_fft: opt.PostfilterFft = None,
    postfilter_power: opt.PostfilterPower = None,
    refiner_channels: opt.RefinerChannels = 0,
    refiner_lr_scale: opt.RefinerLrScale = 10.0,
    context_units: opt.ContextUnits = 0,
    context_lr_scale: opt.ContextLrScale = 1.0,
    eval_every: opt.EvalEvery = 250,
    checkpoint_every: opt.CheckpointEvery = 50,
    valid_size: opt.ValidSize = 64,
    reuse_cond: opt.ReuseCond = 0,
    crop_seconds: opt.CropSeconds = 2.0,
    channels: opt.Channels = None,
    max_channels: opt.MaxChannels = None,
    paper_arch: opt.PaperArch = False,
    init: opt.Init = None,
    text_expansion: opt.TextExpansion = False,
    max_minutes: opt.MaxMinutes = None,
    device: opt.Device = "cpu",
    workers: opt.Workers = 0,
    tiny: opt.Tiny = False,
    label_free: opt.LabelFree = 0.0,
    pool: opt.Pool = None,
    absent: opt.Absent = 0.0,
    max_sources: opt.MaxSources = 2,
    gain_db: opt.GainDb = 4.0,
    augment: opt.Augment = 0.0,
    other_take: opt.OtherTake = 0.0,
    swap_pairs: opt.SwapPairs = 0.0,
    procedural: opt.Procedural = 0.0,
    procedural_backgrounds: opt.ProceduralBackgrounds = 0.0,
    similar_backgrounds: opt.SimilarBackgrounds = 0.0,
    similar_any_group: opt.SimilarAnyGroup = False,
    similar_pool: opt.SimilarPool = 0.0,
    pool_other_take: opt.PoolOtherTake = 0.0,
    residual_queries: opt.ResidualQueries = 0.0,
    query_noise: opt.QueryNoise = 0.0,
    query_lean: opt.QueryLean = 0.0,
    bf16: opt.Bf16 = False,
    quiet: opt.Quiet = False,
) -> None:
    """Train SoundFilter on corpus mixtures, conditioned by SoundWords text or audio embeddings.

    Keeps the checkpoint whose separated targets are closest to the true targets in SoundWords
    embedding distance on a fixed validation set. The same command run again continues from
    RUN_DIR/checkpoint.pt. Prints a JSON summary on stdout at the end.
    """
    args = SimpleNamespace(**locals())  # every option, by name, for the helpers below
    from sfcli.train.export import strict_json
    from sfcli.train.filter import train_filter

    _check(args)  # every option, the output folder and the manifests' audio, before anything loads
    opts = _options(args, _apply_overrides(_config(args), args))
    opts.check()
    _warn_slow_bf16(args)
    sw = _words(args)
    train_data, valid_data, descriptions = _datasets(args, sw)
    summary = train_filter(opts, train_data, valid_data, sw, descriptions=descriptions, progress=not quiet)
    if int(os.environ.get("RANK", "0")) == 0:
        sys.stdout.write(json.dumps(strict_json(summary), default=str) + "\n")


def _warn_slow_bf16(args: SimpleNamespace) -> None:
    """One warning line (first process only) when --bf16 on the CPU would be emulated, i.e. slower."""
    import torch

    from sfcli.train.common import cpu_has_native_bf16

    on_cpu = args.device == "cpu" or (args.device == "auto" and not torch.cuda.is_available())
    if args.bf16 and on_cpu and cpu_has_native_bf16() is False and os.environ.get("RANK", "0") == "0":
        err_console.print(
            "sfcli: warning: this CPU has no native bfloat16 (AVX512-BF16 / AMX): --bf16 is emulated and "
            "slower than float32 here",
            markup=False,
        )


def _check(args: SimpleNamespace) -> None:
    """Refuse, with one line, option values that cannot train, a --out that holds another model and a
    manifest with missing audio files."""
    from sfcli.errors import SfcliError
    from sfcli.train.datasets import check_manifest_audio
    from sfcli.train.export import check_model_out

    if args.lr_schedule not in ("constant", "cosine"):
        raise SfcliError("--lr-schedule must be constant or cosine")
    if args.similar_any_group and not args.similar_backgrounds:
        raise SfcliError("--similar-any-group only changes --similar-backgrounds, which is 0")
    if args.query_lean and not args.swap_pairs:
        raise SfcliError("--query-lean only changes swapped pairs, and --swap-pairs is 0")
    for name in ("similar_pool", "pool_other_take"):
        if getattr(args, name) and not args.label_free:
            flag = "--" + name.replace("_", "-")
            raise SfcliError(f"{flag} only changes label-free examples, and --label-free is 0")
    for option, value in (
        ("--lr", args.lr),
        ("--crop-seconds", args.crop_seconds),
        ("--max-minutes", args.max_minutes),
    ):
        if value is not None and not value > 0:
            raise SfcliError(f"{option} must be greater than 0, not {value:g}")
    run = _run_dir(args)
    check_model_out(args.out or run / "model", run, args.force)
    if args.manifest:
        check_manifest_audio(args.manifest)


def _run_dir(args: SimpleNamespace) -> Path:
    """--run-dir, or the default run folder."""
    from sfcli.data.corpus import default_cache_dir

    return args.run_dir or default_cache_dir() / "runs" / "filter"


def _config(args: SimpleNamespace) -> Any:
    """The model config to train (before the architecture options)."""
    from sfcli.filter_model import SoundFilterConfig

    if args.tiny:
        return SoundFilterConfig.tiny()
    return SoundFilterConfig.paper() if args.paper_arch else SoundFilterConfig()


def _words(args: SimpleNamespace) -> Any:
    """The SoundWords model that conditions the training."""
    from sfcli.words import SoundWords

    if args.tiny:
        return SoundWords.tiny(seed=0)
    return SoundWords.from_pretrained(args.words, device=args.device)


def _datasets(args: SimpleNamespace, words: Any = None) -> tuple[Any, Any, list[str]]:
    """Training and validation mixtures + descriptions: --manifest, else --tiny tones, else the corpus
    (``words``: the SoundWords model, whose audio bank --similar-backgrounds reads)."""
    from sfcli.data.corpus import default_corpus_dir
    from sfcli.errors import SfcliError
    from sfcli.train.datasets import corpus_datasets, manifest_datasets, tone_datasets

    if args.manifest:
        return manifest_datasets(args.manifest, args.seed, crop_seconds=args.crop_seconds)
    if args.tiny:
        return tone_datasets(args.seed, args.crop_seconds)
    root = args.corpus or default_corpus_dir()
    if not root.exists():
        raise SfcliError(f"no corpus at {root}; build it first (python scripts/corpus/build.py)")
    robust = _robust_options(args)
    if robust.enabled:
        from sfcli.data.pool import default_pool_dir
        from sfcli.train.datasets import robust_corpus_datasets

        pool = args.pool or default_pool_dir()
        bank = getattr(words, "audio_bank", None)
        pool = pool if robust.label_free else None
        return robust_corpus_datasets(root, args.seed, robust, pool, args.crop_seconds, bank)
    return corpus_datasets(root, args.seed, crop_seconds=args.crop_seconds, gain_db=args.gain_db)


# probabilities of 1, 2 and 3 backgrounds for --max-sources 2, 3, 4
_SOURCE_SHARES = {2: (1.0,), 3: (0.65, 0.35), 4: (0.55, 0.3, 0.15)}


def _robust_options(args: SimpleNamespace) -> Any:
    """The issue-20 mixture options (label-free pool, absent queries, more sources, augmentation)."""
    from sfcli.data.robust import RobustOptions

    return RobustOptions(
        label_free=args.label_free,
        absent=args.absent,
        extra_sources=_SOURCE_SHARES[args.max_sources],
        gain_db=args.gain_db,
        augment=args.augment,
        other_take=args.other_take,
        swap_pairs=args.swap_pairs,
        procedural=args.procedural,
        procedural_backgrounds=args.procedural_backgrounds,
        similar_backgrounds=args.similar_backgrounds,
        similar_any_group=args.similar_any_group,
        similar_pool=args.similar_pool,
        pool_other_take=args.pool_other_take,
    )


def _apply_overrides(cfg: Any, args: SimpleNamespace) -> Any:
    """The model config with the architecture and post-filter options applied (checked)."""
    from sfcli.errors import SfcliError

    for name in ("channels", "max_channels", "postfilter_fft", "postfilter_power"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    cfg.refiner_channels = args.refiner_channels
    cfg.context_units = args.context_units
    if cfg.max_channels < cfg.channels:
        raise SfcliError(f"--max-channels ({cfg.max_channels}) must be at least --channels ({cfg.channels})")
    if 0 < cfg.postfilter_fft < 4:
        raise SfcliError(f"--postfilter-fft must be 0 (no post-filter) or at least 4, not {cfg.postfilter_fft}")
    return cfg


def _options(args: SimpleNamespace, cfg: Any) -> Any:
    """:class:`~sfcli.train.filter.TrainFilterOptions` from the command line."""
    from sfcli.train.filter import TrainFilterOptions

    run = _run_dir(args)
    same = ("steps", "batch_size", "lr", "warmup", "seed", "text_rate", "consistency_loss", "residual_output")
    same += ("projection", "postfilter", "refiner_lr_scale", "eval_every", "checkpoint_every", "valid_size")
    same += ("text_expansion", "device", "workers", "init", "lr_schedule")
    same += ("residual_queries", "query_noise", "query_lean", "bf16", "context_lr_scale")
    return TrainFilterOptions(
        run_dir=run,
        out=args.out or run / "model",
        reuse_cond_embeddings=args.reuse_cond,
        max_seconds=None if args.max_minutes is None else 60.0 * args.max_minutes,
        model_config=cfg,
        **{k: getattr(args, k) for k in same},
    )
