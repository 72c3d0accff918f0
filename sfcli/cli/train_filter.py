"""``sfcli train-filter``: train SoundFilter (resumable; several processes through torchrun)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import typer

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


# One alias per option keeps train_filter_cmd's signature one line per option.
_Corpus = Annotated[Path | None, typer.Option("--corpus", help="Corpus folder (default: $SFCLI_CACHE/corpus).")]
_Manifest = Annotated[
    list[Path] | None,
    typer.Option(
        "--manifest",
        "-m",
        help="Mix clips of manifests (Clotho, AudioCaps, FSD50K, ESC-50, JSONL) instead of the corpus; repeatable.",
    ),
]
_Words = Annotated[
    Path | None,
    typer.Option("--words", help="SoundWords model folder (default: the shipped models/soundwords)."),
]
_RunDir = Annotated[
    Path | None,
    typer.Option("--run-dir", help="Checkpoints and caches (default: $SFCLI_CACHE/runs/filter)."),
]
_Out = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Where to write the selected model folder (default RUN_DIR/model)."),
]
_Force = Annotated[
    bool,
    typer.Option("--force", "-f", help="Overwrite a model already in --out (one this run wrote is always replaced)."),
]
_Steps = Annotated[int, typer.Option("--steps", min=1, help="Total optimisation steps.")]
_BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Global batch (mixtures per step).")]
_Lr = Annotated[float, typer.Option("--lr", help="Adam learning rate (> 0; linear warm-up, then --lr-schedule).")]
_Warmup = Annotated[int, typer.Option("--warmup", min=0, help="Warm-up steps.")]
_LrSchedule = Annotated[
    str,
    typer.Option("--lr-schedule", help="After warm-up: constant, or cosine decay to 5 % at --steps."),
]
_Seed = Annotated[int, typer.Option("--seed", min=0)]
_TextRate = Annotated[
    float,
    typer.Option("--text-rate", min=0.0, max=1.0, help="Training text rate: share of text-conditioned examples."),
]
_ConsistencyLoss = Annotated[
    bool,
    typer.Option("--consistency-loss/--no-consistency-loss", help="The SNR consistency loss (paper ablation)."),
]
_ResidualOutput = Annotated[
    bool,
    typer.Option(
        "--residual-output/--no-residual-output",
        help="Train the residual (suppressed) output; without it only the target is trained (paper ablation).",
    ),
]
_Projection = Annotated[
    bool,
    typer.Option("--projection", help="Exact mixture-consistency projection instead of the soft consistency loss."),
]
_Postfilter = Annotated[
    bool,
    typer.Option(
        "--postfilter",
        help="Score the loss and validation after the spectral post-filter that inference applies.",
    ),
]
_PostfilterFft = Annotated[
    int | None,
    typer.Option(
        "--postfilter-fft", min=0, help="STFT size of the model's post-filter, saved in its config [default: 4096]."
    ),
]
_PostfilterPower = Annotated[
    float | None,
    typer.Option(
        "--postfilter-power",
        min=0.01,
        help="Mask exponent of the model's post-filter, saved in its config [default: 1.5].",
    ),
]
_RefinerChannels = Annotated[
    int,
    typer.Option(
        "--refiner-channels",
        min=0,
        help="Add a learned mask refiner of this width to the post-filter (needs --postfilter; 0: none).",
    ),
]
_RefinerLrScale = Annotated[
    float, typer.Option("--refiner-lr-scale", min=0.0, help="The mask refiner's learning rate / --lr.")
]
_ContextUnits = Annotated[
    int,
    typer.Option(
        "--context-units",
        min=0,
        help="Add this many FiLM-conditioned dilated residual units after the bottleneck (0: none; "
        "they start as the identity, so --init may name a model without them).",
    ),
]
_ContextLrScale = Annotated[
    float, typer.Option("--context-lr-scale", min=0.0, help="The context units' learning rate / --lr.")
]
_EvalEvery = Annotated[int, typer.Option("--eval-every", min=1, help="Validate / select every N steps.")]
_CheckpointEvery = Annotated[int, typer.Option("--checkpoint-every", min=1)]
_ValidSize = Annotated[int, typer.Option("--valid-size", min=0, help="Fixed validation mixtures.")]
_ReuseCond = Annotated[
    int,
    typer.Option("--reuse-cond-embeddings", min=0, help="Reuse up to K audio-query embeddings per clip (0: never)."),
]
_CropSeconds = Annotated[float, typer.Option("--crop-seconds", help="Mixture crop length (> 0).")]
_Channels = Annotated[int | None, typer.Option("--channels", min=1, help="Override the U-Net width.")]
_MaxChannels = Annotated[
    int | None,
    typer.Option("--max-channels", min=1, help="Override the cap on the U-Net's channel doubling (>= the width)."),
]
_PaperArch = Annotated[
    bool,
    typer.Option(
        "--paper-arch", help="The paper's full-rate waveform U-Net (strides 2-4-5-8) instead of the shipped design."
    ),
]
_Init = Annotated[
    Path | None,
    typer.Option(
        "--init", help="Warm-start from a SoundFilter model folder or a train-filter checkpoint (new runs only)."
    ),
]
_TextExpansion = Annotated[
    bool,
    typer.Option(
        "--text-expansion",
        help="Text-conditioned examples get the SoundWords audio-bank expansion that `separate --text` "
        "uses, leaving out the bank clips of the target's own recording family.",
    ),
]
_MaxMinutes = Annotated[
    float | None,
    typer.Option("--max-minutes", help="Stop (checkpointed, resumable) after this much wall time (> 0)."),
]
_Device = Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")]
_Workers = Annotated[
    int,
    typer.Option(
        "--workers",
        min=0,
        help="Data-loading processes (0: one prefetch thread). A GPU needs several to be kept busy; "
        "the batches, and so the run, are the same for any number.",
    ),
]
_Tiny = Annotated[bool, typer.Option("--tiny", help="Test only: tiny models and synthetic tone mixtures (no corpus).")]
_LabelFree = Annotated[
    float,
    typer.Option("--label-free", min=0.0, max=1.0, help="Share of examples from the label-free pool (audio queries)."),
]
_Pool = Annotated[Path | None, typer.Option("--pool", help="Label-free pool folder (default: $SFCLI_CACHE/pool).")]
_Absent = Annotated[
    float, typer.Option("--absent", min=0.0, max=1.0, help="Share of examples whose query is in neither source.")
]
_MaxSources = Annotated[
    int, typer.Option("--max-sources", min=2, max=4, help="Up to N sources per mixture (1 target + backgrounds).")
]
_GainDb = Annotated[float, typer.Option("--gain-db", min=0.0, help="Backgrounds at +-X dB around the target.")]
_Augment = Annotated[
    float, typer.Option("--augment", min=0.0, help="Room/EQ/band-limit/speed/codec augmentation strength (0: off).")
]
_OtherTake = Annotated[
    float,
    typer.Option(
        "--other-take",
        min=0.0,
        max=1.0,
        help="Share of described examples whose audio query is another clip of the target's category.",
    ),
]
_SwapPairs = Annotated[
    float,
    typer.Option(
        "--swap-pairs",
        min=0.0,
        max=1.0,
        help="Share of example pairs whose second example is the first's mixture queried for its background.",
    ),
]
_ResidualQueries = Annotated[
    float,
    typer.Option(
        "--residual-queries",
        min=0.0,
        max=1.0,
        help="Share of examples queried, as --two-pass's second pass is, with the SoundWords embedding of "
        "the current model's residual (their target becomes the background).",
    ),
]
_Bf16 = Annotated[
    bool,
    typer.Option(
        "--bf16",
        help="Run the forward pass under bfloat16 autocast (weights, loss and optimizer stay float32): "
        "a quarter less time per step on a 2-core AMX CPU, fine-tunes scored the same as float32; "
        "slower on a CPU without native bfloat16, which is warned about (docs/notebook/speed-and-memory.md).",
    ),
]
_Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]


def train_filter_cmd(
    corpus: _Corpus = None,
    manifest: _Manifest = None,
    words: _Words = None,
    run_dir: _RunDir = None,
    out: _Out = None,
    force: _Force = False,
    steps: _Steps = 20000,
    batch_size: _BatchSize = 16,
    lr: _Lr = 1e-3,
    warmup: _Warmup = 100,
    lr_schedule: _LrSchedule = "constant",
    seed: _Seed = 0,
    text_rate: _TextRate = 0.3,
    consistency_loss: _ConsistencyLoss = True,
    residual_output: _ResidualOutput = True,
    projection: _Projection = False,
    postfilter: _Postfilter = False,
    postfilter_fft: _PostfilterFft = None,
    postfilter_power: _PostfilterPower = None,
    refiner_channels: _RefinerChannels = 0,
    refiner_lr_scale: _RefinerLrScale = 10.0,
    context_units: _ContextUnits = 0,
    context_lr_scale: _ContextLrScale = 1.0,
    eval_every: _EvalEvery = 250,
    checkpoint_every: _CheckpointEvery = 50,
    valid_size: _ValidSize = 64,
    reuse_cond: _ReuseCond = 0,
    crop_seconds: _CropSeconds = 2.0,
    channels: _Channels = None,
    max_channels: _MaxChannels = None,
    paper_arch: _PaperArch = False,
    init: _Init = None,
    text_expansion: _TextExpansion = False,
    max_minutes: _MaxMinutes = None,
    device: _Device = "cpu",
    workers: _Workers = 0,
    tiny: _Tiny = False,
    label_free: _LabelFree = 0.0,
    pool: _Pool = None,
    absent: _Absent = 0.0,
    max_sources: _MaxSources = 2,
    gain_db: _GainDb = 4.0,
    augment: _Augment = 0.0,
    other_take: _OtherTake = 0.0,
    swap_pairs: _SwapPairs = 0.0,
    residual_queries: _ResidualQueries = 0.0,
    bf16: _Bf16 = False,
    quiet: _Quiet = False,
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
    train_data, valid_data, descriptions = _datasets(args)
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


def _datasets(args: SimpleNamespace) -> tuple[Any, Any, list[str]]:
    """Training and validation mixtures + descriptions: --manifest, else --tiny tones, else the corpus."""
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
        return robust_corpus_datasets(root, args.seed, robust, pool if robust.label_free else None, args.crop_seconds)
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
    same += ("residual_queries", "bf16", "context_lr_scale")
    return TrainFilterOptions(
        run_dir=run,
        out=args.out or run / "model",
        reuse_cond_embeddings=args.reuse_cond,
        max_seconds=None if args.max_minutes is None else 60.0 * args.max_minutes,
        model_config=cfg,
        **{k: getattr(args, k) for k in same},
    )
