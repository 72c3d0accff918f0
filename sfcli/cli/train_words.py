"""``sfcli train-words``: train SoundWords (resumable; several processes through torchrun)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import typer

EPILOG = """\
**Examples**

```
sfcli train-words                                   # on the corpus (~/.cache/sfcli/corpus)
sfcli train-words --manifest clotho.jsonl --steps 5000 --out models/soundwords --force   # replace the shipped model
sfcli train-words --add-corpus ~/.cache/sfcli/mined   # plus the labels mined from file names
sfcli train-words                                   # again: continues from the last checkpoint
torchrun --nproc_per_node 4 --no-python sfcli train-words --device cuda --batch-size 6144
```
"""


# One alias per option keeps train_words_cmd's signature one line per option.
_Manifest = Annotated[
    list[Path] | None,
    typer.Option(
        "--manifest", "-m", metavar="FILE", help="Train on a JSONL manifest instead of the corpus; repeatable."
    ),
]
_Corpus = Annotated[Path | None, typer.Option("--corpus", help="Corpus folder (default: $SFCLI_CACHE/corpus).")]
_AddCorpus = Annotated[
    list[Path] | None,
    typer.Option(
        "--add-corpus",
        metavar="DIR",
        help="Another corpus folder (e.g. mined labels) whose clips join each split; repeatable.",
    ),
]
_RunDir = Annotated[
    Path | None,
    typer.Option("--run-dir", help="Checkpoints and feature caches (default: $SFCLI_CACHE/runs/words)."),
]
_Out = Annotated[
    Path | None, typer.Option("--out", "-o", help="Where to write the final model folder (default RUN_DIR/model).")
]
_Force = Annotated[
    bool,
    typer.Option("--force", "-f", help="Overwrite a model already in --out (one this run wrote is always replaced)."),
]
_Steps = Annotated[int, typer.Option("--steps", min=1, help="Total optimisation steps.")]
_BatchSize = Annotated[int, typer.Option("--batch-size", min=2, help="Global batch (pairs per step).")]
_Lr = Annotated[float, typer.Option("--lr", help="Peak learning rate (AdamW, cosine decay; > 0).")]
_Seed = Annotated[int, typer.Option("--seed", min=0)]
_EvalEvery = Annotated[int, typer.Option("--eval-every", min=1, help="Validate every N steps.")]
_CheckpointEvery = Annotated[int, typer.Option("--checkpoint-every", min=1)]
_MaxWindows = Annotated[int, typer.Option("--max-windows", min=1, help="Windows cached per clip.")]
_MaxPerCategory = Annotated[
    int, typer.Option("--max-per-category", min=0, help="Cap training clips per category (0: no cap).")
]
_BalanceCategories = Annotated[
    float,
    typer.Option(
        "--balance-categories",
        min=0.0,
        max=1.0,
        help="Draw clips with weight count(category)^-P: 0 uniform over clips, 1 uniform over categories.",
    ),
]
_GroupBy = Annotated[str, typer.Option("--group-by", help="Positives within a batch: category, text or none.")]
_HeadHidden = Annotated[
    int, typer.Option("--audio-head-hidden", min=0, help="Hidden width of the audio head (0: linear).")
]
_WeightDecay = Annotated[float, typer.Option("--weight-decay", min=0.0, help="AdamW weight decay.")]
_HeadDropout = Annotated[float, typer.Option("--head-dropout", min=0.0, max=0.95, help="Dropout inside the MLP heads.")]
_TextStruct = Annotated[
    float,
    typer.Option("--text-struct", min=0.0, help="Weight of a loss keeping text similarities close to MiniLM's."),
]
_TextSoft = Annotated[
    float,
    typer.Option(
        "--text-soft",
        min=0.0,
        max=1.0,
        help="Weight of soft targets from MiniLM's similarities between the batch's descriptions.",
    ),
]
_TextSoftTemperature = Annotated[
    float, typer.Option("--text-soft-temperature", min=1e-3, help="Softmax temperature of those soft targets.")
]
_CategoryText = Annotated[
    bool, typer.Option("--category-text", help="Also pair each clip with its category name as a description.")
]
_TextHeadFrom = Annotated[
    Path | None,
    typer.Option(
        "--text-head-from",
        help="Copy and freeze the text head of this SoundWords model folder (keeps its shared space).",
    ),
]
_AudioPool = Annotated[
    str, typer.Option("--audio-pool", help="Time pooling of the audio CNN's maps: max (aiSFX), mean or meanmax.")
]
_HoldoutCategories = Annotated[
    float,
    typer.Option(
        "--holdout-categories",
        min=0.0,
        max=1.0,
        help="Share of categories kept out of training and scored as unseen (half valid, half test).",
    ),
]
_LockText = Annotated[
    bool,
    typer.Option("--lock-text", help="Text head frozen as a PCA of MiniLM features; only the audio side trains."),
]
_CacheDir = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Folder of the feature caches, shareable between runs (default: RUN_DIR)."),
]
_TestEval = Annotated[
    bool, typer.Option("--test-eval", help="Also cache the test split and report its metrics at the end.")
]
_Device = Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")]
_Tiny = Annotated[bool, typer.Option("--tiny", help="Test-only tiny model (no MiniLM, no aiSFX).")]
_Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]


def train_words_cmd(
    manifest: _Manifest = None,
    corpus: _Corpus = None,
    add_corpus: _AddCorpus = None,
    run_dir: _RunDir = None,
    out: _Out = None,
    force: _Force = False,
    steps: _Steps = 2000,
    batch_size: _BatchSize = 512,
    lr: _Lr = 1e-3,
    seed: _Seed = 0,
    eval_every: _EvalEvery = 100,
    checkpoint_every: _CheckpointEvery = 100,
    max_windows: _MaxWindows = 4,
    max_per_category: _MaxPerCategory = 0,
    balance_categories: _BalanceCategories = 0.0,
    group_by: _GroupBy = "category",
    head_hidden: _HeadHidden = 512,
    weight_decay: _WeightDecay = 1e-4,
    head_dropout: _HeadDropout = 0.0,
    text_struct: _TextStruct = 0.0,
    text_soft: _TextSoft = 0.0,
    text_soft_temperature: _TextSoftTemperature = 0.05,
    category_text: _CategoryText = False,
    text_head_from: _TextHeadFrom = None,
    audio_pool: _AudioPool = "max",
    holdout_categories: _HoldoutCategories = 0.0,
    lock_text: _LockText = False,
    cache_dir: _CacheDir = None,
    test_eval: _TestEval = False,
    device: _Device = "cpu",
    tiny: _Tiny = False,
    quiet: _Quiet = False,
) -> None:
    """Train SoundWords' projection heads contrastively on (audio, description) pairs.

    Both backbones stay frozen (features cached once in RUN_DIR); the same command run again
    continues from RUN_DIR/checkpoint.pt. Prints a JSON summary on stdout at the end.
    """
    args = SimpleNamespace(**locals())
    opts = _options(args)
    from sfcli.train.export import strict_json
    from sfcli.train.words import train_words

    summary = train_words(opts, _sources(args), progress=not quiet)
    if int(os.environ.get("RANK", "0")) == 0:
        sys.stdout.write(json.dumps(strict_json(summary), default=str) + "\n")


def _sources(args: SimpleNamespace) -> list[Any]:
    """The training pairs: every --manifest, else the corpus; plus the clips of every --add-corpus."""
    from sfcli.data.corpus import default_corpus_dir
    from sfcli.errors import SfcliError
    from sfcli.train.datasets import check_manifest_audio
    from sfcli.train.words import corpus_sources, manifest_sources

    if args.manifest:
        check_manifest_audio(args.manifest)
        sources = [s for m in args.manifest for s in manifest_sources(m)]
    else:
        root = args.corpus or default_corpus_dir()
        if not root.exists():
            raise SfcliError(f"no corpus at {root}; build it first or pass --manifest FILE")
        sources = corpus_sources(root)
    for extra in args.add_corpus or []:
        if not extra.exists():
            raise SfcliError(f"no corpus at {extra} (--add-corpus)")
        sources += corpus_sources(extra, key_prefix=f"{extra.expanduser().resolve().name}:")
    return sources


def _options(args: SimpleNamespace) -> Any:
    """:class:`~sfcli.train.words.TrainWordsOptions` from the command line (checked)."""
    from sfcli.data.corpus import default_cache_dir
    from sfcli.errors import SfcliError
    from sfcli.train.export import check_model_out
    from sfcli.train.words import TrainWordsOptions
    from sfcli.words import POOLS, SoundWordsConfig

    if not args.lr > 0:
        raise SfcliError(f"--lr must be greater than 0, not {args.lr:g}")
    if args.group_by not in ("category", "text", "none"):
        raise SfcliError("--group-by must be category, text or none")
    if args.audio_pool not in POOLS:
        raise SfcliError(f"--audio-pool must be one of {', '.join(POOLS)}")
    run = args.run_dir or default_cache_dir() / "runs" / "words"
    out = args.out or run / "model"
    check_model_out(out, run, args.force)
    cfg = (
        SoundWordsConfig.tiny()
        if args.tiny
        else SoundWordsConfig(
            audio_head_hidden=args.head_hidden, head_dropout=args.head_dropout, audio_pool=args.audio_pool
        )
    )
    same = ("steps", "batch_size", "lr", "weight_decay", "text_struct", "text_soft", "text_soft_temperature")
    same += ("category_text", "text_head_from", "holdout_categories", "lock_text", "cache_dir", "test_eval", "seed")
    same += ("eval_every", "checkpoint_every", "max_windows", "max_per_category", "balance_categories", "group_by")
    return TrainWordsOptions(
        run_dir=run,
        out=out,
        init_audio="none" if args.tiny else "aisfx",
        device=args.device,
        model_config=cfg,
        **{k: getattr(args, k) for k in same},
    )
