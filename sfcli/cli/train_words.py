"""``sfcli train-words``: train SoundWords (resumable; several processes through torchrun)."""

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
sfcli train-words                                   # on the corpus (~/.cache/sfcli/corpus)
sfcli train-words --manifest clotho.jsonl --steps 5000 --out models/soundwords
sfcli train-words                                   # again: continues from the last checkpoint
torchrun --nproc_per_node 4 --no-python sfcli train-words --device cuda --batch-size 6144
```
"""


def train_words_cmd(
    manifest: Annotated[
        list[Path] | None,
        typer.Option(
            "--manifest", "-m", metavar="FILE", help="Train on a JSONL manifest instead of the corpus; repeatable."
        ),
    ] = None,
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="Corpus folder (default: $SFCLI_CACHE/corpus).")
    ] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option("--run-dir", help="Checkpoints and feature caches (default: $SFCLI_CACHE/runs/words)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where to write the final model folder (default RUN_DIR/model).")
    ] = None,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Total optimisation steps.")] = 2000,
    batch_size: Annotated[int, typer.Option("--batch-size", min=2, help="Global batch (pairs per step).")] = 512,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate (AdamW, cosine decay).")] = 1e-3,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    eval_every: Annotated[int, typer.Option("--eval-every", min=1, help="Validate every N steps.")] = 100,
    checkpoint_every: Annotated[int, typer.Option("--checkpoint-every", min=1)] = 100,
    max_windows: Annotated[int, typer.Option("--max-windows", min=1, help="Windows cached per clip.")] = 4,
    max_per_category: Annotated[
        int, typer.Option("--max-per-category", min=0, help="Cap training clips per category (0: no cap).")
    ] = 0,
    balance_categories: Annotated[
        float,
        typer.Option(
            "--balance-categories",
            min=0.0,
            max=1.0,
            help="Draw clips with weight count(category)^-P: 0 uniform over clips, 1 uniform over categories.",
        ),
    ] = 0.0,
    group_by: Annotated[
        str, typer.Option("--group-by", help="Positives within a batch: category, text or none.")
    ] = "category",
    head_hidden: Annotated[
        int, typer.Option("--audio-head-hidden", help="Hidden width of the audio head (0: linear).")
    ] = 512,
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="AdamW weight decay.")] = 1e-4,
    head_dropout: Annotated[
        float, typer.Option("--head-dropout", min=0.0, max=0.95, help="Dropout inside the MLP heads.")
    ] = 0.0,
    text_struct: Annotated[
        float,
        typer.Option("--text-struct", help="Weight of a loss keeping text similarities close to MiniLM's."),
    ] = 0.0,
    text_soft: Annotated[
        float,
        typer.Option(
            "--text-soft",
            min=0.0,
            max=1.0,
            help="Weight of soft targets from MiniLM's similarities between the batch's descriptions.",
        ),
    ] = 0.0,
    text_soft_temperature: Annotated[
        float, typer.Option("--text-soft-temperature", min=1e-3, help="Softmax temperature of those soft targets.")
    ] = 0.05,
    category_text: Annotated[
        bool, typer.Option("--category-text", help="Also pair each clip with its category name as a description.")
    ] = False,
    text_head_from: Annotated[
        Path | None,
        typer.Option(
            "--text-head-from",
            help="Copy and freeze the text head of this SoundWords model folder (keeps its shared space).",
        ),
    ] = None,
    audio_pool: Annotated[
        str, typer.Option("--audio-pool", help="Time pooling of the audio CNN's maps: max (aiSFX), mean or meanmax.")
    ] = "max",
    holdout_categories: Annotated[
        float,
        typer.Option(
            "--holdout-categories",
            min=0.0,
            max=1.0,
            help="Share of categories kept out of training and scored as unseen (half valid, half test).",
        ),
    ] = 0.0,
    lock_text: Annotated[
        bool,
        typer.Option("--lock-text", help="Text head frozen as a PCA of MiniLM features; only the audio side trains."),
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Folder of the feature caches, shareable between runs (default: RUN_DIR)."),
    ] = None,
    test_eval: Annotated[
        bool, typer.Option("--test-eval", help="Also cache the test split and report its metrics at the end.")
    ] = False,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")] = "cpu",
    tiny: Annotated[bool, typer.Option("--tiny", help="Test-only tiny model (no MiniLM, no aiSFX).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Train SoundWords' projection heads contrastively on (audio, description) pairs.

    Both backbones stay frozen (features cached once in RUN_DIR); the same command run again
    continues from RUN_DIR/checkpoint.pt. Prints a JSON summary on stdout at the end.
    """
    from sfcli.data.corpus import default_cache_dir, default_corpus_dir
    from sfcli.errors import SfcliError
    from sfcli.train.words import TrainWordsOptions, corpus_sources, manifest_sources, train_words
    from sfcli.words import POOLS, SoundWordsConfig

    if group_by not in ("category", "text", "none"):
        raise SfcliError("--group-by must be category, text or none")
    if audio_pool not in POOLS:
        raise SfcliError(f"--audio-pool must be one of {', '.join(POOLS)}")
    if manifest:
        sources = [s for m in manifest for s in manifest_sources(m)]
    else:
        root = corpus or default_corpus_dir()
        if not root.exists():
            raise SfcliError(f"no corpus at {root}; build it first or pass --manifest FILE")
        sources = corpus_sources(root)
    run = run_dir or default_cache_dir() / "runs" / "words"
    cfg = (
        SoundWordsConfig.tiny()
        if tiny
        else SoundWordsConfig(audio_head_hidden=head_hidden, head_dropout=head_dropout, audio_pool=audio_pool)
    )
    opts = TrainWordsOptions(
        run_dir=run,
        out=out or run / "model",
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        text_struct=text_struct,
        text_soft=text_soft,
        text_soft_temperature=text_soft_temperature,
        category_text=category_text,
        text_head_from=text_head_from,
        holdout_categories=holdout_categories,
        lock_text=lock_text,
        cache_dir=cache_dir,
        test_eval=test_eval,
        seed=seed,
        eval_every=eval_every,
        checkpoint_every=checkpoint_every,
        max_windows=max_windows,
        max_per_category=max_per_category,
        balance_categories=balance_categories,
        group_by=group_by,
        init_audio="none" if tiny else "aisfx",
        device=device,
        model_config=cfg,
    )
    summary = train_words(opts, sources, progress=not quiet)
    if int(os.environ.get("RANK", "0")) == 0:
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
