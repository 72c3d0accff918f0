"""The options of ``sfcli train-filter``, one ``Annotated`` alias each, so that
:func:`sfcli.cli.train_filter.train_filter_cmd`'s signature stays one line per option."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Corpus = Annotated[Path | None, typer.Option("--corpus", help="Corpus folder (default: $SFCLI_CACHE/corpus).")]
Manifest = Annotated[
    list[Path] | None,
    typer.Option(
        "--manifest",
        "-m",
        help="Mix clips of manifests (Clotho, AudioCaps, FSD50K, ESC-50, JSONL) instead of the corpus; repeatable.",
    ),
]
Words = Annotated[
    Path | None,
    typer.Option("--words", help="SoundWords model folder (default: the shipped models/soundwords)."),
]
RunDir = Annotated[
    Path | None,
    typer.Option("--run-dir", help="Checkpoints and caches (default: $SFCLI_CACHE/runs/filter)."),
]
Out = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Where to write the selected model folder (default RUN_DIR/model)."),
]
Force = Annotated[
    bool,
    typer.Option("--force", "-f", help="Overwrite a model already in --out (one this run wrote is always replaced)."),
]
Steps = Annotated[int, typer.Option("--steps", min=1, help="Total optimisation steps.")]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Global batch (mixtures per step).")]
Lr = Annotated[float, typer.Option("--lr", help="Adam learning rate (> 0; linear warm-up, then --lr-schedule).")]
Warmup = Annotated[int, typer.Option("--warmup", min=0, help="Warm-up steps.")]
LrSchedule = Annotated[
    str,
    typer.Option("--lr-schedule", help="After warm-up: constant, or cosine decay to 5 % at --steps."),
]
Seed = Annotated[int, typer.Option("--seed", min=0)]
TextRate = Annotated[
    float,
    typer.Option("--text-rate", min=0.0, max=1.0, help="Training text rate: share of text-conditioned examples."),
]
ConsistencyLoss = Annotated[
    bool,
    typer.Option("--consistency-loss/--no-consistency-loss", help="The SNR consistency loss (paper ablation)."),
]
ResidualOutput = Annotated[
    bool,
    typer.Option(
        "--residual-output/--no-residual-output",
        help="Train the residual (suppressed) output; without it only the target is trained (paper ablation).",
    ),
]
Projection = Annotated[
    bool,
    typer.Option("--projection", help="Exact mixture-consistency projection instead of the soft consistency loss."),
]
Postfilter = Annotated[
    bool,
    typer.Option(
        "--postfilter",
        help="Score the loss and validation after the spectral post-filter that inference applies.",
    ),
]
PostfilterFft = Annotated[
    int | None,
    typer.Option(
        "--postfilter-fft", min=0, help="STFT size of the model's post-filter, saved in its config [default: 4096]."
    ),
]
PostfilterPower = Annotated[
    float | None,
    typer.Option(
        "--postfilter-power",
        min=0.01,
        help="Mask exponent of the model's post-filter, saved in its config [default: 1.5].",
    ),
]
RefinerChannels = Annotated[
    int,
    typer.Option(
        "--refiner-channels",
        min=0,
        help="Add a learned mask refiner of this width to the post-filter (needs --postfilter; 0: none).",
    ),
]
RefinerLrScale = Annotated[
    float, typer.Option("--refiner-lr-scale", min=0.0, help="The mask refiner's learning rate / --lr.")
]
ContextUnits = Annotated[
    int,
    typer.Option(
        "--context-units",
        min=0,
        help="Add this many FiLM-conditioned dilated residual units after the bottleneck (0: none; "
        "they start as the identity, so --init may name a model without them).",
    ),
]
ContextLrScale = Annotated[
    float, typer.Option("--context-lr-scale", min=0.0, help="The context units' learning rate / --lr.")
]
EvalEvery = Annotated[int, typer.Option("--eval-every", min=1, help="Validate / select every N steps.")]
CheckpointEvery = Annotated[int, typer.Option("--checkpoint-every", min=1)]
ValidSize = Annotated[int, typer.Option("--valid-size", min=0, help="Fixed validation mixtures.")]
ReuseCond = Annotated[
    int,
    typer.Option("--reuse-cond-embeddings", min=0, help="Reuse up to K audio-query embeddings per clip (0: never)."),
]
CropSeconds = Annotated[float, typer.Option("--crop-seconds", help="Mixture crop length (> 0).")]
Channels = Annotated[int | None, typer.Option("--channels", min=1, help="Override the U-Net width.")]
MaxChannels = Annotated[
    int | None,
    typer.Option("--max-channels", min=1, help="Override the cap on the U-Net's channel doubling (>= the width)."),
]
PaperArch = Annotated[
    bool,
    typer.Option(
        "--paper-arch", help="The paper's full-rate waveform U-Net (strides 2-4-5-8) instead of the shipped design."
    ),
]
Init = Annotated[
    Path | None,
    typer.Option(
        "--init", help="Warm-start from a SoundFilter model folder or a train-filter checkpoint (new runs only)."
    ),
]
TextExpansion = Annotated[
    bool,
    typer.Option(
        "--text-expansion",
        help="Text-conditioned examples get the SoundWords audio-bank expansion that `separate --text` "
        "uses, leaving out the bank clips of the target's own recording family.",
    ),
]
MaxMinutes = Annotated[
    float | None,
    typer.Option("--max-minutes", help="Stop (checkpointed, resumable) after this much wall time (> 0)."),
]
Device = Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")]
Workers = Annotated[
    int,
    typer.Option(
        "--workers",
        min=0,
        help="Data-loading processes (0: one prefetch thread). A GPU needs several to be kept busy; "
        "the batches, and so the run, are the same for any number.",
    ),
]
Tiny = Annotated[bool, typer.Option("--tiny", help="Test only: tiny models and synthetic tone mixtures (no corpus).")]
LabelFree = Annotated[
    float,
    typer.Option("--label-free", min=0.0, max=1.0, help="Share of examples from the label-free pool (audio queries)."),
]
Pool = Annotated[Path | None, typer.Option("--pool", help="Label-free pool folder (default: $SFCLI_CACHE/pool).")]
Absent = Annotated[
    float, typer.Option("--absent", min=0.0, max=1.0, help="Share of examples whose query is in neither source.")
]
MaxSources = Annotated[
    int, typer.Option("--max-sources", min=2, max=4, help="Up to N sources per mixture (1 target + backgrounds).")
]
GainDb = Annotated[float, typer.Option("--gain-db", min=0.0, help="Backgrounds at +-X dB around the target.")]
Augment = Annotated[
    float, typer.Option("--augment", min=0.0, help="Room/EQ/band-limit/speed/codec augmentation strength (0: off).")
]
OtherTake = Annotated[
    float,
    typer.Option(
        "--other-take",
        min=0.0,
        max=1.0,
        help="Share of described examples whose audio query is another clip of the target's category.",
    ),
]
SwapPairs = Annotated[
    float,
    typer.Option(
        "--swap-pairs",
        min=0.0,
        max=1.0,
        help="Share of example pairs whose second example is the first's mixture queried for its background.",
    ),
]
Procedural = Annotated[
    float,
    typer.Option(
        "--procedural",
        min=0.0,
        max=1.0,
        help="Share of examples whose target is a procedural sound (impacts, textures, motors, bubbles, ...).",
    ),
]
ProceduralBackgrounds = Annotated[
    float,
    typer.Option(
        "--procedural-backgrounds",
        min=0.0,
        max=1.0,
        help="Share of examples whose background is a procedural sound (a swapped pair queries it).",
    ),
]
SimilarBackgrounds = Annotated[
    float,
    typer.Option(
        "--similar-backgrounds",
        min=0.0,
        max=1.0,
        help="Share of described examples whose background is a category that sounds like the target's "
        "(one of the 10 nearest in the SoundWords audio bank).",
    ),
]
SimilarAnyGroup = Annotated[
    bool,
    typer.Option(
        "--similar-any-group",
        help="Let --similar-backgrounds draw from the target's own coarse group too (two engines, two "
        "footsteps), which plain mixtures never pair.",
    ),
]
SimilarPool = Annotated[
    float,
    typer.Option(
        "--similar-pool",
        min=0.0,
        max=1.0,
        help="Share of label-free examples whose background is one of the 20 pool clips (of other sources) "
        "nearest to the target's clip in SoundWords audio space (scripts/make_pool_embeddings.py).",
    ),
]
PoolOtherTake = Annotated[
    float,
    typer.Option(
        "--pool-other-take",
        min=0.0,
        max=1.0,
        help="Share of label-free examples whose audio query is a crop of one of the 5 clips of the target's "
        "source nearest to it in SoundWords audio space (scripts/make_pool_embeddings.py), not of its own clip.",
    ),
]
ResidualQueries = Annotated[
    float,
    typer.Option(
        "--residual-queries",
        min=0.0,
        max=1.0,
        help="Share of examples queried, as --two-pass's second pass is, with the SoundWords embedding of "
        "the current model's residual (their target becomes the background).",
    ),
]
QueryNoise = Annotated[
    float,
    typer.Option(
        "--query-noise",
        min=0.0,
        max=1.0,
        help="Add Gaussian noise of standard deviation U(0, S) per dimension to each training query (then "
        "renormalise), so the network also separates from queries near the clean one; 0 = off.",
    ),
]
QueryLean = Annotated[
    float,
    typer.Option(
        "--query-lean",
        min=0.0,
        max=0.99,
        help="With --swap-pairs: move each query of a swapped pair towards the pair's other query by U(0, L) "
        "of it (then renormalise), as a query of a real recording also points a little at the sound beside "
        "it; 0 = off.",
    ),
]
Bf16 = Annotated[
    bool,
    typer.Option(
        "--bf16",
        help="Run the forward pass under bfloat16 autocast (weights, loss and optimizer stay float32): "
        "a quarter less time per step on a 2-core AMX CPU, fine-tunes scored the same as float32; "
        "slower on a CPU without native bfloat16, which is warned about (docs/notebook/speed-and-memory.md).",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]
