"""``sfcli train-filter``: train SoundFilter (resumable; several processes through torchrun)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

EPILOG = """\
**Examples**

```
sfcli train-filter                                  # corpus (~/.cache/sfcli/corpus), models/soundwords
sfcli train-filter --steps 20000 --out models/soundfilter
sfcli train-filter                                  # again: continues from the last checkpoint
sfcli train-filter --no-consistency-loss --run-dir runs/abl-noc     # paper Table 1 ablations
sfcli train-filter --no-residual-output --run-dir runs/abl-nores
sfcli train-filter --projection --run-dir runs/proj                  # exact mixture consistency
OMP_NUM_THREADS=1 torchrun --nproc_per_node 2 --no-python sfcli train-filter --batch-size 32   # DDP, gloo
```
"""


def _cache_dir() -> Path:
    return Path(os.environ.get("SFCLI_CACHE") or Path.home() / ".cache" / "sfcli").expanduser()


def train_filter_cmd(
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="Corpus folder (default: $SFCLI_CACHE/corpus).")
    ] = None,
    manifest: Annotated[
        list[Path] | None,
        typer.Option(
            "--manifest",
            "-m",
            help="Mix clips of manifests (Clotho, AudioCaps, FSD50K, ESC-50, JSONL) instead of the corpus; repeatable.",
        ),
    ] = None,
    words: Annotated[
        Path | None,
        typer.Option("--words", help="SoundWords model folder (default: the shipped models/soundwords)."),
    ] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option("--run-dir", help="Checkpoints and caches (default: $SFCLI_CACHE/runs/filter)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Where to write the selected model folder (default RUN_DIR/model)."),
    ] = None,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Total optimisation steps.")] = 20000,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Global batch (mixtures per step).")] = 16,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate (linear warm-up, then --lr-schedule).")] = 1e-3,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Warm-up steps.")] = 100,
    lr_schedule: Annotated[
        str,
        typer.Option("--lr-schedule", help="After warm-up: constant, or cosine decay to 5 % at --steps."),
    ] = "constant",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    text_rate: Annotated[
        float,
        typer.Option("--text-rate", min=0.0, max=1.0, help="Training text rate: share of text-conditioned examples."),
    ] = 0.3,
    consistency_loss: Annotated[
        bool,
        typer.Option("--consistency-loss/--no-consistency-loss", help="The SNR consistency loss (paper ablation)."),
    ] = True,
    residual_output: Annotated[
        bool,
        typer.Option(
            "--residual-output/--no-residual-output",
            help="Train the residual (suppressed) output; without it only the target is trained (paper ablation).",
        ),
    ] = True,
    projection: Annotated[
        bool,
        typer.Option("--projection", help="Exact mixture-consistency projection instead of the soft consistency loss."),
    ] = False,
    postfilter: Annotated[
        bool,
        typer.Option(
            "--postfilter",
            help="Score the loss and validation after the spectral post-filter that inference applies.",
        ),
    ] = False,
    postfilter_fft: Annotated[
        int | None,
        typer.Option(
            "--postfilter-fft", min=0, help="STFT size of the model's post-filter, saved in its config [default: 4096]."
        ),
    ] = None,
    postfilter_power: Annotated[
        float | None,
        typer.Option(
            "--postfilter-power",
            min=0.01,
            help="Mask exponent of the model's post-filter, saved in its config [default: 1.5].",
        ),
    ] = None,
    refiner_channels: Annotated[
        int,
        typer.Option(
            "--refiner-channels",
            min=0,
            help="Add a learned mask refiner of this width to the post-filter (needs --postfilter; 0: none).",
        ),
    ] = 0,
    refiner_lr_scale: Annotated[
        float, typer.Option("--refiner-lr-scale", min=0.0, help="The mask refiner's learning rate / --lr.")
    ] = 10.0,
    eval_every: Annotated[int, typer.Option("--eval-every", min=1, help="Validate / select every N steps.")] = 250,
    checkpoint_every: Annotated[int, typer.Option("--checkpoint-every", min=1)] = 50,
    valid_size: Annotated[int, typer.Option("--valid-size", min=0, help="Fixed validation mixtures.")] = 64,
    reuse_cond: Annotated[
        int,
        typer.Option(
            "--reuse-cond-embeddings", min=0, help="Reuse up to K audio-query embeddings per clip (0: never)."
        ),
    ] = 0,
    crop_seconds: Annotated[float, typer.Option("--crop-seconds", help="Mixture crop length.")] = 2.0,
    channels: Annotated[int | None, typer.Option("--channels", help="Override the U-Net width.")] = None,
    max_channels: Annotated[
        int | None, typer.Option("--max-channels", help="Override the cap on the U-Net's channel doubling.")
    ] = None,
    paper_arch: Annotated[
        bool,
        typer.Option(
            "--paper-arch", help="The paper's full-rate waveform U-Net (strides 2-4-5-8) instead of the shipped design."
        ),
    ] = False,
    init: Annotated[
        Path | None,
        typer.Option(
            "--init", help="Warm-start from a SoundFilter model folder or a train-filter checkpoint (new runs only)."
        ),
    ] = None,
    text_expansion: Annotated[
        bool,
        typer.Option(
            "--text-expansion",
            help="Text-conditioned examples get the SoundWords audio-bank expansion that `separate --text` "
            "uses, leaving out the bank clips of the target's own recording family.",
        ),
    ] = False,
    max_minutes: Annotated[
        float | None,
        typer.Option("--max-minutes", help="Stop (checkpointed, resumable) after this much wall time."),
    ] = None,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")] = "cpu",
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=0,
            help="Data-loading processes (0: one prefetch thread). A GPU needs several to be kept busy; "
            "the batches, and so the run, are the same for any number.",
        ),
    ] = 0,
    tiny: Annotated[
        bool, typer.Option("--tiny", help="Test only: tiny models and synthetic tone mixtures (no corpus).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Train SoundFilter on corpus mixtures, conditioned by SoundWords text or audio embeddings.

    Keeps the checkpoint whose separated targets are closest to the true targets in SoundWords
    embedding distance on a fixed validation set. The same command run again continues from
    RUN_DIR/checkpoint.pt. Prints a JSON summary on stdout at the end.
    """
    from sfcli.errors import SfcliError
    from sfcli.filter_model import SoundFilterConfig
    from sfcli.train.filter import ToneMixtures, TrainFilterOptions, corpus_datasets, manifest_datasets, train_filter
    from sfcli.words import SoundWords

    if lr_schedule not in ("constant", "cosine"):
        raise SfcliError("--lr-schedule must be constant or cosine")
    run = run_dir or _cache_dir() / "runs" / "filter"
    if tiny:
        cfg = SoundFilterConfig.tiny()
        sw = SoundWords.tiny(seed=0)
        train_data, valid_data = ToneMixtures(seed, seconds=crop_seconds / 4), ToneMixtures(seed + 1, crop_seconds / 4)
        descriptions = train_data.descriptions()
    else:
        cfg = SoundFilterConfig.paper() if paper_arch else SoundFilterConfig()
        sw = SoundWords.from_pretrained(words, device=device)
    if manifest:
        train_data, valid_data, descriptions = manifest_datasets(manifest, seed, crop_seconds=crop_seconds)
    elif not tiny:
        root = corpus or _cache_dir() / "corpus"
        if not root.exists():
            raise SfcliError(f"no corpus at {root}; build it first (python scripts/corpus/build.py)")
        train_data, valid_data, descriptions = corpus_datasets(root, seed, crop_seconds=crop_seconds)
    if channels is not None:
        cfg.channels = channels
    if max_channels is not None:
        cfg.max_channels = max_channels
    if postfilter_fft is not None:
        cfg.postfilter_fft = postfilter_fft
    if postfilter_power is not None:
        cfg.postfilter_power = postfilter_power
    cfg.refiner_channels = refiner_channels
    opts = TrainFilterOptions(
        run_dir=run,
        out=out or run / "model",
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        warmup=warmup,
        seed=seed,
        text_rate=text_rate,
        consistency_loss=consistency_loss,
        residual_output=residual_output,
        projection=projection,
        postfilter=postfilter,
        refiner_lr_scale=refiner_lr_scale,
        eval_every=eval_every,
        checkpoint_every=checkpoint_every,
        valid_size=valid_size,
        reuse_cond_embeddings=reuse_cond,
        text_expansion=text_expansion,
        device=device,
        workers=workers,
        max_seconds=None if max_minutes is None else 60.0 * max_minutes,
        init=init,
        lr_schedule=lr_schedule,
        model_config=cfg,
    )
    summary = train_filter(opts, train_data, valid_data, sw, descriptions=descriptions, progress=not quiet)
    if int(os.environ.get("RANK", "0")) == 0:
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
