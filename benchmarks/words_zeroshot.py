"""Zero-shot classification of a labelled manifest's clips by SoundWords text prompts (issue 18).

    python benchmarks/words_zeroshot.py ../shared/data/kitchen20/manifest.jsonl
    python benchmarks/words_zeroshot.py M.jsonl --models DIR --split test --markdown table.md

Every clip of a JSONL manifest (``audio`` relative to the manifest, ``label`` / ``category``, optional
``text``; all clips unless ``--split`` is given) is embedded by the model's audio side as
``sfcli eval words`` and a reference query do it (:meth:`sfcli.words.SoundWords.embed_audio`: peak
normalised, cut into windows, window embeddings averaged; no looping of clips shorter than 2 s) and
assigned to the class whose text query is the most similar. Each class's query, per prompt variant:

* ``label``: the cleaned label ("boiling-water" → "boiling water");
* ``sound-of``: "the sound of {label}";
* ``text``: the manifest's own text of the class (the mean of their embeddings when there are several);
* ``ensemble``: the renormalised mean of the three;

and per query mode:

* ``plain``: :meth:`~sfcli.words.SoundWords.embed_text` (what ``sfcli separate --raw-text`` uses);
* ``expanded``: :meth:`~sfcli.words.SoundWords.text_query`, through the model's audio bank (the
  product's default for a text query; only when the model has a bank).

The product embeds the typed text as it is (no template), so a user typing a class name gets the
``label`` / ``expanded`` row, and one typing a phrase like the manifest's the ``text`` / ``expanded`` row.
Prints one JSON object: per variant and mode top-1 / top-5 per clip and per class (macro), each class's
accuracy and the confusions of the worst classes; ``--markdown`` also writes the tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

TEMPLATES = {"label": "{}", "sound-of": "the sound of {}"}
VARIANTS = ("label", "sound-of", "text", "ensemble")
MODES = ("plain", "expanded")
PRODUCT_PATH = "text query as typed, expanded through the audio bank (label/expanded or text/expanded)"


def load_clips(manifest: str | Path, split: str | None = None, limit: int = 0) -> list[Any]:
    """The labelled clips of a JSONL manifest (:func:`sfcli.train.words.manifest_sources`): all of
    them, or those of ``split``; at most ``limit`` (0: no limit). Unlabelled clips are left out."""
    from sfcli.train.words import manifest_sources, split_of

    # Absolute: manifest_sources joins the manifest's folder to audio paths that the JSONL reader has
    # already joined, which doubles a relative manifest's folder.
    clips = [s for s in manifest_sources(Path(manifest).resolve()) if s.category]
    if split is not None:
        clips = [s for s in clips if split_of(s.split) == split_of(split)]
    return clips[:limit] if limit > 0 else clips


def embed_clips(model: Any, clips: Sequence[Any], batch: int = 16) -> tuple[np.ndarray, float]:
    """Audio embeddings ``(n, dim)`` of the clips (each ``clip.load() -> (audio, rate)``), equal to
    ``model.embed_audio`` clip by clip, and the seconds of audio embedded."""
    rows: list[np.ndarray] = []
    seconds = 0.0
    for i in range(0, len(clips), batch):
        wins = []
        for c in clips[i : i + batch]:
            audio, rate = c.load()
            seconds += np.asarray(audio).shape[-1] / rate
            wins.append(model.audio_windows(np.asarray(audio, dtype=np.float32), rate))
        rows.append(model.embed_windows(wins))
    if not rows:
        return np.zeros((0, model.config.embed_dim), dtype=np.float32), 0.0
    return np.concatenate(rows).astype(np.float32), seconds


def class_texts(clips: Sequence[Any], classes: Sequence[str]) -> dict[str, list[str]]:
    """Each class's distinct manifest texts (``clip.descriptions``), most frequent first."""
    counts: dict[str, dict[str, int]] = {c: {} for c in classes}
    for s in clips:
        for d in s.descriptions:
            counts[s.category][d] = counts[s.category].get(d, 0) + 1
    return {c: sorted(t, key=lambda d: -t[d]) for c, t in counts.items()}


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def class_queries(
    model: Any, classes: Sequence[str], texts: dict[str, list[str]], variant: str, mode: str
) -> np.ndarray:
    """The ``(len(classes), dim)`` unit query rows of one prompt ``variant`` and query ``mode``."""
    from sfcli.words_eval import category_prompt

    def embed(prompts: list[str]) -> np.ndarray:
        if mode == "expanded":
            return np.asarray(model.text_query(prompts, expand=True), dtype=np.float32)
        if mode == "plain":
            return np.asarray(model.embed_text(prompts), dtype=np.float32)
        raise ValueError(f"unknown query mode {mode!r}")

    if variant in TEMPLATES:
        return _unit(embed([category_prompt(c, TEMPLATES[variant]) for c in classes]))
    if variant == "text":
        return _unit(np.stack([_unit(embed(texts[c])).mean(axis=0) for c in classes]))
    if variant == "ensemble":
        parts = [class_queries(model, classes, texts, v, mode) for v in ("label", "sound-of", "text")]
        return _unit(np.mean(parts, axis=0))
    raise ValueError(f"unknown prompt variant {variant!r}")


def zeroshot_benchmark(
    model: Any,
    clips: Sequence[Any],
    *,
    variants: Sequence[str] = VARIANTS,
    modes: Sequence[str] = MODES,
    worst: int = 5,
) -> dict[str, Any]:
    """Score ``clips`` (records with ``category``, ``descriptions`` and ``load()``) by zero-shot
    classification among their own classes, for every prompt variant and query mode.

    Returns ``{"n_clips", "n_classes", "classes", "class_texts", "modes", "results": {variant: {mode:
    scores}}, ...timings}`` with ``scores`` from :func:`sfcli.words_eval.zeroshot_scores`. The
    ``expanded`` mode is skipped (and listed under ``skipped_modes``) for a model without an audio bank.
    """
    from sfcli.words_eval import zeroshot_scores

    classes = sorted({s.category for s in clips})
    if not classes:
        raise ValueError("no labelled clips")
    labels = np.array([classes.index(s.category) for s in clips])
    t0 = time.perf_counter()
    audio, seconds = embed_clips(model, clips)
    embed_s = time.perf_counter() - t0
    texts = class_texts(clips, classes)
    has_bank = getattr(model, "audio_bank", None) is not None
    use = [m for m in modes if m != "expanded" or has_bank]
    t0 = time.perf_counter()
    results = {
        v: {
            m: zeroshot_scores(audio, labels, class_queries(model, classes, texts, v, m), classes, worst=worst)
            for m in use
        }
        for v in variants
    }
    return {
        "n_clips": len(clips),
        "n_classes": len(classes),
        "classes": classes,
        "class_texts": texts,
        "modes": use,
        "skipped_modes": [m for m in modes if m not in use],
        "product_path": PRODUCT_PATH,
        "chance_top1": 1.0 / len(classes),
        "results": results,
        "audio_seconds": round(seconds, 1),
        "embed_audio_s": round(embed_s, 1),
        "text_s": round(time.perf_counter() - t0, 1),
    }


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def markdown(report: dict[str, Any], worst_of: tuple[str, str] | None = None) -> str:
    """Markdown tables of a :func:`zeroshot_benchmark` report: the summary per variant and mode, each
    class's top-1 under every variant and mode, and the worst classes of ``worst_of`` ((variant, mode);
    default: label with the product's mode)."""
    res, modes = report["results"], report["modes"]
    cols = [(v, m) for v in res for m in modes]
    lines = [
        "| prompt | query | top-1 | top-1 per class | top-5 | top-5 per class |",
        "|---|---|---|---|---|---|",
    ]
    for v, m in cols:
        s = res[v][m]
        lines.append(
            f"| {v} | {m} | {_pct(s['top1'])} | {_pct(s['top1_macro'])} | {_pct(s['top5'])} | {_pct(s['top5_macro'])} |"
        )
    lines += ["", "| class | clips | " + " | ".join(f"{v} {m}" for v, m in cols) + " |"]
    lines.append("|---|---" + "|---" * len(cols) + "|")
    for c in report["classes"]:
        n = res[cols[0][0]][cols[0][1]]["per_class"][c]["n"]
        cells = " | ".join(_pct(res[v][m]["per_class"][c]["top1"]) for v, m in cols)
        lines.append(f"| {c} | {n} | {cells} |")
    v, m = worst_of or ("label", modes[-1])
    if v in res and m in res[v]:
        lines += ["", f"Worst classes ({v}, {m}): top-1 and the most frequent wrong answers.", ""]
        for w in res[v][m]["worst"]:
            conf = ", ".join(f"{name} {k}" for name, k in w["confused_with"]) or "—"
            lines.append(f"* {w['class']} ({_pct(w['top1'])} %, {w['n']} clips): {conf}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", type=Path, help="a labelled JSONL manifest (e.g. Kitchen20's)")
    ap.add_argument("--models", type=Path, default=None, help="model folder (default: shipped models/)")
    ap.add_argument("--split", default=None, help="only this split (default: every clip)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many clips (0: all)")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--worst", type=int, default=5, help="how many worst classes to show confusions for")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--markdown", type=Path, default=None, help="also write the Markdown tables here")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from sfcli.words import SoundWords

    t_start = time.perf_counter()
    clips = load_clips(args.manifest, args.split, args.limit)
    if not clips:
        print(f"{args.manifest}: no labelled clips", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    model = SoundWords.from_pretrained(args.models)
    load_s = time.perf_counter() - t0
    report = zeroshot_benchmark(model, clips, variants=args.variants, worst=args.worst)
    out = {
        "manifest": str(args.manifest),
        "model": str(args.models or "shipped"),
        "split": args.split or "all",
        **report,
        "load_s": round(load_s, 1),
        "threads": args.threads,
        "wall_s": round(time.perf_counter() - t_start, 1),
    }
    if args.markdown is not None:
        args.markdown.write_text(markdown(out))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
