"""How far does SoundWords transfer to sound categories it never saw, and what limits it?

    python experiments/words_unseen_study.py --runs /tmp/wx/study --features /tmp/wx/runs/features curve
    python experiments/words_unseen_study.py --runs /tmp/wx/study --features /tmp/wx/runs/features variants
    python experiments/words_unseen_study.py --runs /tmp/wx/study --features /tmp/wx/runs/features \
        descriptions EXTRA.tsv
    python experiments/words_unseen_study.py --runs /tmp/wx/study --features /tmp/wx/runs/features balance

``--features`` is a ``train-words`` feature cache folder of the corpus (``features.pt`` and
``text_features.pt``, aiSFX max pooling; e.g. the sweep's ``RUNS/features`` of
``benchmarks/words_holdout_sweep.py``). Every run uses the shipped recipe (locked PCA text head,
audio head 512 wide with dropout 0.5, weight decay 0.3, lr 3e-4, 1000 steps, best step on the
seen-category validation split), one thread.

``curve``: category cross-validation. For each of ``--folds`` disjoint-by-hash hold-outs (fold 0 is
exactly ``train-words --holdout-categories 0.2``), 20 % of the categories are kept out entirely and
only a hashed ``--keep`` share of the remaining categories is trained on; the held-out categories (both
halves together, about 65) are then scored. Answers: does unseen-category zero-shot accuracy grow with
the number of training categories, and how fast?

``variants``: the fold-0 hold-out (unseen-valid / unseen-test halves as in the sweep) with other inputs
to the audio head — aiSFX's own classifier heads (nine sound-effect-library taxonomies, 378 classes,
kept in its checkpoint) applied to each window's 512-d embedding: their softmax outputs, log-softmax
outputs, last hidden layers — and with the contrastive temperature fixed instead of learned (the
benchmark swaps the loss's learned scale for a constant).

``descriptions``: the ``curve`` folds with every category trained on, each trained clip carrying the
extra descriptions of its category from ``EXTRA.tsv`` (``category<TAB>d1 | d2 | ...``) as well; an extra
description that contains the name of one of the fold's held-out categories is dropped, and held-out
clips keep their own descriptions. Answers: do richer, more varied descriptions of the trained sounds
help the held-out ones? Compared with the ``curve`` rows of the same folds.

``balance``: the ``curve`` folds with every other category trained on, batches drawn with
``train-words --balance-categories P`` (clip weight ``count(category) ** -P``) for each of
``--powers``; scores the held-out categories and the trained categories' test split, per clip and per
category. Answers: do the many small categories gain when the few large ones stop filling the batches?
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sfcli.train import words as T
from sfcli.words import SoundWords, SoundWordsConfig, aisfx_checkpoint_path

RECIPE: dict[str, Any] = {
    "steps": 1000,
    "eval_every": 50,
    "checkpoint_every": 1000,
    "lr": 3e-4,
    "weight_decay": 0.3,
    "lock_text": True,
}


def heldout_categories(sources: list[T.PairSource], fold: int, fraction: float = 0.2) -> set[str]:
    """The categories fold ``fold`` keeps out (fold 0 = ``train-words --holdout-categories``)."""
    salt = "holdout" if fold == 0 else f"holdout{fold}"
    return {s.category for s in sources if s.category and T._hash_fraction(f"{salt}:{s.category}") < fraction}


CURVE_KEYS = ("zeroshot_top1", "zeroshot_top1_macro", "zeroshot_top5", "t2a_R@10")


def _mean_std(rows: list[dict[str, Any]], key: str, scale: float = 100.0) -> str:
    v = scale * np.array([r[key] for r in rows], dtype=float)
    return f"{v.mean():.1f} ± {v.std():.1f}"


def _table(header: list[str], body: list[list[str]]) -> None:
    print("\n| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in body:
        print("| " + " | ".join(row) + " |")


def _show(result: Path) -> dict[str, Any]:
    """Read back (and print) one run's JSON result; reruns reuse it and only print the tables."""
    r = json.loads(result.read_text())
    print(json.dumps(r), flush=True)
    return r


def _load_feats(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / "features.pt", map_location="cpu", weights_only=False)["features"]


def train_and_score(
    run: Path,
    features: Path,
    train: list[T.PairSource],
    scored: dict[str, list[T.PairSource]],
    feats: dict[str, torch.Tensor],
    **options: Any,
) -> dict[str, dict[str, Any]]:
    """Train the shipped recipe (plus ``options``) on ``train``, model saved in ``run/model``, and
    score it on each named set of ``scored``."""
    opts = T.TrainWordsOptions(
        run_dir=run,
        out=run / "model",
        cache_dir=features,
        model_config=SoundWordsConfig(head_dropout=0.5),
        **{**RECIPE, **options},
    )
    T.train_words(opts, train, progress=False)
    model = SoundWords.from_pretrained(run / "model")
    return {name: T.validate(model, sources, feats) for name, sources in scored.items()}


def run_curve(args: argparse.Namespace, sources: list[T.PairSource]) -> None:
    feats = _load_feats(args.features)
    rows: dict[float, list[dict[str, float]]] = {}
    for fold in range(args.folds):
        held = heldout_categories(sources, fold)
        heldout = [s for s in sources if s.category in held]
        for keep in args.keep:
            kept = [
                s
                for s in sources
                if s.category not in held and (keep >= 1 or T._hash_fraction(f"keep{fold}:{s.category}") < keep)
            ]
            run = args.runs / f"curve-f{fold}-k{keep:g}"
            if not (run / "result.json").exists():
                m = train_and_score(run, args.features, kept, {"heldout": heldout}, feats)["heldout"]
                out = {
                    "fold": fold,
                    "keep": keep,
                    "n_train_categories": len({s.category for s in kept}),
                    "n_heldout_categories": len(held),
                    "n_heldout_clips": len(heldout),
                    **{k: m[k] for k in CURVE_KEYS},
                }
                (run / "result.json").write_text(json.dumps(out) + "\n")
            rows.setdefault(keep, []).append(_show(run / "result.json"))
    header = ["share of the other categories trained on", "training categories", "held-out zs@1 (per clip)"]
    header += ["held-out zs@1 (per category)", "held-out zs@5", "held-out t→a R@10"]
    body = []
    for keep in sorted(rows, reverse=True):
        rs = rows[keep]
        body.append([f"{keep:g}", _mean_std(rs, "n_train_categories", 1.0)] + [_mean_std(rs, k) for k in CURVE_KEYS])
    _table(header, body)


# --------------------------------------------------------------------------------------------------
# Variants of the audio head's input


def aisfx_heads() -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    """The aiSFX checkpoint's classifier heads (also used by ucs_anchors.py): three linear layers each."""
    ck = torch.load(aisfx_checkpoint_path(), map_location="cpu", weights_only=False)[0]
    n = len({k.split(".")[1] for k in ck if k.startswith("fc.")})
    return [[(ck[f"fc.{h}.{j}.weight"].float(), ck[f"fc.{h}.{j}.bias"].float()) for j in (0, 2, 4)] for h in range(n)]


def transform(x: torch.Tensor, kind: str, heads: list[list[tuple[torch.Tensor, torch.Tensor]]]) -> torch.Tensor:
    """Window features ``(W, 512)`` -> the variant's audio-head input."""
    x = x.float()
    parts = []
    for (w0, b0), (w1, b1), (w2, b2) in heads:
        h1 = torch.relu(x @ w0.t() + b0)
        h2 = torch.relu(h1 @ w1.t() + b1)
        logits = h2 @ w2.t() + b2
        part = {"probs": torch.softmax(logits, -1), "logp": torch.log_softmax(logits, -1), "h2": h2, "h1": h1}
        parts.append(part[kind.removeprefix("emb+")])
    z = torch.cat(parts, -1)
    return torch.cat([x, z], -1) if kind.startswith("emb+") else z


@dataclasses.dataclass
class _WideConfig(SoundWordsConfig):
    """The shipped layout with another audio-head input width (variants only; not loadable by sfcli)."""

    feature_width: int = 512

    @property
    def audio_feature_dim(self) -> int:  # type: ignore[override]
        return self.feature_width


VARIANTS: dict[str, dict[str, Any]] = {
    "aisfx-embedding (shipped recipe)": {},
    "+ aiSFX class probabilities": {"features": "emb+probs"},
    "+ aiSFX class log-probabilities": {"features": "emb+logp"},
    "+ aiSFX heads' last hidden layers": {"features": "emb+h2"},
    "+ aiSFX heads' first hidden layers": {"features": "emb+h1"},
    "aiSFX class probabilities only": {"features": "probs"},
    "aiSFX heads' last hidden layers only": {"features": "h2"},
    "temperature fixed at 0.05": {"temperature": 0.05},
    "temperature fixed at 0.2": {"temperature": 0.2},
    "temperature fixed at 0.5": {"temperature": 0.5},
}


def run_variants(args: argparse.Namespace, sources: list[T.PairSource]) -> None:
    heads = aisfx_heads()
    learned = T.contrastive_loss
    print(
        "| input / setting | width | seen test zs@1 | unseen-valid zs@1 | unseen-valid zs@5 | unseen-valid t→a R@10 "
        "| unseen-test zs@1 | unseen-test zs@5 | unseen-test t→a R@10 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for i, (name, spec) in enumerate(VARIANTS.items()):
        kind = spec.get("features")
        cache = args.features
        if kind:
            cache = args.runs / f"features-{kind}"
            if not (cache / "features.pt").exists():
                cache.mkdir(parents=True, exist_ok=True)
                blob = torch.load(args.features / "features.pt", map_location="cpu", weights_only=False)
                blob["features"] = {k: transform(v, kind, heads).half() for k, v in blob["features"].items()}
                torch.save(blob, cache / "features.pt")
                shutil.copy(args.features / "text_features.pt", cache / "text_features.pt")
        base = SoundWordsConfig().audio_feature_dim  # the cache's window features (aiSFX, max pooling)
        width = transform(torch.zeros(1, base), kind, heads).shape[1] if kind else base
        run = args.runs / f"variant-{i}"
        if not (run / "summary.json").exists():
            if "temperature" in spec:
                fixed = torch.tensor(math.log(1.0 / spec["temperature"]))
                T.contrastive_loss = lambda te, ae, _scale, *a, fixed=fixed: learned(te, ae, fixed, *a)
            try:
                opts = T.TrainWordsOptions(
                    run_dir=run,
                    cache_dir=cache,
                    holdout_categories=0.2,
                    test_eval=True,
                    model_config=_WideConfig(head_dropout=0.5, feature_width=width),
                    **RECIPE,
                )
                T.train_words(opts, sources, progress=False)
            finally:
                T.contrastive_loss = learned
        s = json.loads((run / "summary.json").read_text())

        def pc(m: dict[str, Any], key: str) -> str:
            return f"{100 * m[key]:.1f}"

        t, uv, ut = s["test"], s["unseen_valid"], s["unseen_test"]
        print(
            f"| {name} | {width} | {pc(t, 'zeroshot_top1')} | {pc(uv, 'zeroshot_top1')} | {pc(uv, 'zeroshot_top5')} | "
            f"{pc(uv, 't2a_R@10')} | {pc(ut, 'zeroshot_top1')} | {pc(ut, 'zeroshot_top5')} | {pc(ut, 't2a_R@10')} |",
            flush=True,
        )


def read_extra(path: Path) -> dict[str, list[str]]:
    """``category<TAB>d1 | d2 | ...`` lines -> {category: [descriptions]}."""
    out: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            cat, _, rest = line.partition("\t")
            out[cat] = [d.strip() for d in rest.split("|") if d.strip()]
    return out


def run_descriptions(args: argparse.Namespace, sources: list[T.PairSource]) -> None:
    feats = _load_feats(args.features)
    extra = read_extra(args.extra)
    base_rows, rows = [], []
    for fold in range(args.folds):
        held = heldout_categories(sources, fold)
        names = [n.lower() for n in held]
        heldout = [s for s in sources if s.category in held]
        kept, dropped = [], 0
        for s in sources:
            if s.category in held:
                continue
            ds = [d for d in extra.get(s.category or "", []) if not any(n in d.lower() for n in names)]
            dropped += len(extra.get(s.category or "", [])) - len(ds)
            kept.append(dataclasses.replace(s, descriptions=list(dict.fromkeys([*s.descriptions, *ds]))))
        run = args.runs / f"descriptions-f{fold}"
        if not (run / "result.json").exists():
            m = train_and_score(run, args.features, kept, {"heldout": heldout}, feats)["heldout"]
            out = {"fold": fold, "extra_dropped": dropped, **{k: m[k] for k in CURVE_KEYS}}
            (run / "result.json").write_text(json.dumps(out) + "\n")
        rows.append(_show(run / "result.json"))
        base = args.runs / f"curve-f{fold}-k1" / "result.json"
        if base.exists():
            base_rows.append(json.loads(base.read_text()))
    header = ["descriptions", "folds", "held-out zs@1 (per clip)", "held-out zs@1 (per category)"]
    header += ["held-out zs@5", "held-out t→a R@10"]
    runs = (("corpus descriptions (curve, share 1)", base_rows), ("+ extra descriptions", rows))
    _table(header, [[name, str(len(rs))] + [_mean_std(rs, k) for k in CURVE_KEYS] for name, rs in runs if rs])


def run_balance(args: argparse.Namespace, sources: list[T.PairSource]) -> None:
    feats = _load_feats(args.features)
    keys = ("zeroshot_top1", "zeroshot_top1_macro", "t2a_R@10")
    rows: dict[float, list[dict[str, float]]] = {}
    for fold in range(args.folds):
        held = heldout_categories(sources, fold)
        heldout = [s for s in sources if s.category in held]
        kept = [s for s in sources if s.category not in held]
        seen_test = T.split_sources(kept).get("test", [])
        for power in args.powers:
            run = args.runs / f"balance-f{fold}-p{power:g}"
            if not (run / "result.json").exists():
                scored = {"heldout": heldout, "seen_test": seen_test}
                m = train_and_score(run, args.features, kept, scored, feats, balance_categories=power)
                out = {"fold": fold, "power": power, **{f"{n}_{k}": m[n][k] for n in m for k in keys}}
                (run / "result.json").write_text(json.dumps(out) + "\n")
            rows.setdefault(power, []).append(_show(run / "result.json"))
    header = ["--balance-categories", "folds"]
    header += [
        f"{n} {m}" for n in ("seen test", "held-out") for m in ("zs@1 (per clip)", "zs@1 (per category)", "t→a R@10")
    ]
    body = []
    for power in sorted(rows):
        rs = rows[power]
        body.append(
            [f"{power:g}", str(len(rs))] + [_mean_std(rs, f"{n}_{k}") for n in ("seen_test", "heldout") for k in keys]
        )
    _table(header, body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, required=True, help="folder for the runs (results are reused)")
    ap.add_argument("--features", type=Path, required=True, help="train-words feature cache folder of the corpus")
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("curve", help="held-out accuracy against the number of training categories")
    c.add_argument("--folds", type=int, default=5)
    c.add_argument("--keep", type=float, nargs="+", default=[1.0, 0.5, 0.25])
    sub.add_parser("variants", help="other audio-head inputs and fixed temperatures on the fold-0 hold-out")
    b = sub.add_parser("balance", help="the curve's folds with category-balanced batches (--balance-categories)")
    b.add_argument("--folds", type=int, default=5)
    b.add_argument("--powers", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    d = sub.add_parser("descriptions", help="the curve's folds with extra descriptions of the trained categories")
    d.add_argument("extra", type=Path, help="category<TAB>d1 | d2 | ... lines")
    d.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    args.runs.mkdir(parents=True, exist_ok=True)
    sources = T.corpus_sources()
    if args.mode == "curve":
        run_curve(args, sources)
    elif args.mode == "balance":
        run_balance(args, sources)
    elif args.mode == "descriptions":
        run_descriptions(args, sources)
    else:
        run_variants(args, sources)


if __name__ == "__main__":
    main()
