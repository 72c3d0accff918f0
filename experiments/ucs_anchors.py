"""aiSFX's own classifier heads as named anchors for zero-shot text queries (issue 18).

aiSFX (Ma et al., ISMIR 2022) was trained to classify professional sound-effects libraries by their
Universal Category System (UCS) category; its checkpoint keeps those heads (``prosfx`` 78 classes,
``soundlyTrain`` 79, ``ucsMixed`` 69, ``soundstormBalanced`` 81, five small non-UCS ones) but no class
names. This experiment names the four UCS-sized heads and uses them as a second, label-grounded
route from a description to a sound:

* ``align``: every corpus clip's window features go through the heads; per head and class, the corpus
  categories that fire it (lift over the base rate) vote, through MiniLM similarities between their
  names and glosses of the 82 UCS v8.2.1 category names, for a name. The class indices are then aligned
  to the names monotonically (dynamic programming, alphabetical order of the full names) and each class's
  top categories printed, so the naming can be checked by eye.
* ``check``: clip-level top-1 of each named head on the corpus categories whose name is close to one UCS
  name, against the same names shifted by one index (a control). The alphabetical order holds for
  ``prosfx``, ``soundlyTrain`` and ``ucsMixed`` (0.09-0.15 against <= 0.04 shifted), not for
  ``soundstormBalanced`` (0.017), which ``zeroshot`` therefore leaves out by default.
* ``features``: per-clip window features of a labelled manifest (e.g. Kitchen20; evaluation only).
* ``corpus-clips``: the clips of ``train-words --holdout-categories``' held-out categories, as ``features``
  writes them, from a feature cache (``scripts/words_feature_cache.py``).
* ``zeroshot``: zero-shot classification of such clips by their labels, with the SoundWords cosine (over
  its temperature), the UCS route (text -> softmax over the UCS glosses at temperature ``tau`` -> the named
  head classes, against the clip's head probabilities, divided by the clips' mean) and their sum at
  several weights (-1: the UCS route alone).

    OMP_NUM_THREADS=1 python scripts/words_feature_cache.py /tmp/ucs/runs --pools max --procs 1   # ~22 min
    F=/tmp/ucs/runs/features/features.pt
    OMP_NUM_THREADS=1 python experiments/ucs_anchors.py align --features $F --out /tmp/ucs/names.json
    OMP_NUM_THREADS=1 python experiments/ucs_anchors.py check --features $F --names /tmp/ucs/names.json
    OMP_NUM_THREADS=1 python experiments/ucs_anchors.py features ../shared/data/kitchen20/manifest.jsonl \
        --out /tmp/ucs/k20.pt
    OMP_NUM_THREADS=1 python experiments/ucs_anchors.py zeroshot /tmp/ucs/k20.pt --names /tmp/ucs/names.json \
        --tau 0.02 0.05 0.1 --weights 0 0.25 0.5 1 2 -1
    # held-out categories: names from the kept categories only, a SoundWords trained without them
    OMP_NUM_THREADS=1 python experiments/ucs_anchors.py align --holdout 0.2 --features $F --out /tmp/ucs/names-h0.json
    OMP_NUM_THREADS=1 python experiments/ucs_anchors.py corpus-clips --features $F --out-prefix /tmp/ucs/h0
    OMP_NUM_THREADS=1 sfcli train-words --cache-dir /tmp/ucs/runs/features --holdout-categories 0.2 --test-eval -q \
        --lock-text --head-dropout 0.5 --weight-decay 0.3 --lr 3e-4 --steps 1000 --eval-every 50 \
        --checkpoint-every 100 --run-dir /tmp/ucs/words-h0
    OMP_NUM_THREADS=1 python experiments/ucs_anchors.py zeroshot /tmp/ucs/h0-valid.pt --names /tmp/ucs/names-h0.json \
        --models /tmp/ucs/words-h0/model      # and h0-test.pt

UCS category names: the public-domain Universal Category System list (v8.2.1), names only.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from words_unseen_study import aisfx_heads, transform

UCS = (
    "AIR AIRCRAFT ALARMS AMBIENCE ANIMALS ARCHIVED BEEPS BELLS BIRDS BOATS BULLETS CARTOON CERAMICS CHAINS "
    "CHEMICALS CLOCKS CLOTH COMMUNICATIONS COMPUTERS CREATURES CROWDS DESIGNED DESTRUCTION DIRT_&_SAND DOORS "
    "DRAWERS ELECTRICITY EQUIPMENT EXPLOSIONS FARTS FIGHT FIRE FIREWORKS FOLEY FOOD_&_DRINK FOOTSTEPS GAMES "
    "GEOTHERMAL GLASS GORE GUNS HORNS HUMAN ICE LASERS LEATHER LIQUID_&_MUD MACHINES MAGIC MECHANICAL METAL "
    "MOTORS MOVEMENT MUSICAL NATURAL_DISASTER OBJECTS PAPER PLASTIC RAIN ROBOTS ROCKS ROPE RUBBER SCIFI SNOW "
    "SPORTS SWOOSHES TOOLS TOYS TRAINS USER_INTERFACE VEGETATION VEHICLES VOICES WATER WEAPONS WEATHER WHISTLES "
    "WIND WINDOWS WINGS WOOD"
).split()
UCS = [u.replace("_", " ") for u in UCS]
# Short glosses for names whose bare word says little about the sound (written for this experiment).
GLOSS = {
    "AIR": "air hiss, compressed air, air release",
    "AMBIENCE": "background ambience of a place, room tone",
    "ARCHIVED": "archived old recordings",
    "BEEPS": "electronic beeps",
    "CARTOON": "cartoon sound effects, boing, zip",
    "CERAMICS": "ceramic plates, cups, dishes clinking",
    "CHEMICALS": "chemical fizz, bubbling acid",
    "DESIGNED": "designed synthetic sound effects",
    "DIRT & SAND": "dirt and sand, gravel",
    "EQUIPMENT": "equipment, gear handling",
    "FOLEY": "foley, handling objects, cloth rustle",
    "FOOD & DRINK": "food and drink, cooking, eating, pouring a drink",
    "GAMES": "games, board game pieces, cards, dice",
    "GEOTHERMAL": "geothermal, geyser, lava, mud pot",
    "HUMAN": "human body sounds, breathing, coughing, heartbeat",
    "LIQUID & MUD": "liquid and mud, squelch, slime",
    "MACHINES": "machines, appliances, motors running",
    "MECHANICAL": "mechanical clicks, switches, latches, gears",
    "MOVEMENT": "movement, activity",
    "MUSICAL": "musical instruments, music",
    "NATURAL DISASTER": "natural disaster, earthquake, avalanche",
    "OBJECTS": "household objects handled",
    "SCIFI": "science fiction, spaceship, sci-fi",
    "SWOOSHES": "swooshes, whooshes, fast pass-by",
    "USER INTERFACE": "user interface sounds, clicks, notifications",
    "VOICES": "voices, speech, talking, singing",
}
HEADS = {"prosfx": 0, "soundlyTrain": 1, "ucsMixed": 2, "soundstormBalanced": 3}


def gloss(name: str) -> str:
    """The text a UCS name is embedded as."""
    return GLOSS.get(name, name.lower())


def head_probs(feats: torch.Tensor, heads: list[list[tuple[torch.Tensor, torch.Tensor]]]) -> list[np.ndarray]:
    """Per head, the class probabilities of ``(W, 512)`` window features averaged over windows."""
    probs = transform(feats, "probs", heads).mean(0)
    return [p.numpy() for p in torch.split(probs, [w.shape[0] for *_, (w, _) in heads])]


@functools.cache
def _encoder() -> Any:
    from sfcli.words.text_tower import MiniLMEncoder

    return MiniLMEncoder(torch.device("cpu"))


def minilm(texts: list[str]) -> np.ndarray:
    """Unit MiniLM sentence embeddings (the SoundWords text tower's backbone; loaded once)."""
    x = _encoder()(texts).float().numpy()
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@functools.cache
def _gloss_embeddings() -> np.ndarray:
    return minilm([gloss(u) for u in UCS])


def ucs_similarity(texts: list[str]) -> np.ndarray:
    """MiniLM cosines ``(len(texts), 82)`` of the texts to the UCS names' glosses."""
    return minilm(texts) @ _gloss_embeddings().T


def monotone_align(score: np.ndarray) -> list[int]:
    """Indices j_0 < j_1 < ... (one per row of ``score`` (K, J), K <= J) maximising the summed score."""
    k, j = score.shape
    best = np.full((k + 1, j + 1), -np.inf)
    best[0, :] = 0.0
    for a in range(1, k + 1):
        for b in range(a, j + 1):
            best[a, b] = max(best[a, b - 1], best[a - 1, b - 1] + score[a - 1, b - 1])
    out, a, b = [], k, j
    while a > 0:
        if best[a, b] == best[a, b - 1] and b > a:
            b -= 1
        else:
            out.append(b - 1)
            a, b = a - 1, b - 1
    return out[::-1]


def run_align(args: argparse.Namespace) -> None:
    from sfcli.train.words import corpus_sources
    from sfcli.train.words_data import holdout_split

    feats = torch.load(args.features, weights_only=False)["features"]
    heads = aisfx_heads()
    by_cat: dict[str, list[list[np.ndarray]]] = defaultdict(list)
    sources = corpus_sources(args.corpus)
    if args.holdout > 0:  # name the classes from the trained categories only
        sources = holdout_split(sources, args.holdout)[0]
    for s in sources:
        if s.category and s.key in feats:
            by_cat[s.category].append(head_probs(feats[s.key], heads))
    cats = sorted(c for c, v in by_cat.items() if len(v) >= args.min_clips)
    sim = ucs_similarity(cats)  # (C, 82)
    result: dict[str, Any] = {"ucs": UCS, "heads": {}}
    for hname, h in HEADS.items():
        mean = np.stack([np.mean([p[h] for p in by_cat[c]], axis=0) for c in cats])  # (C, K)
        lift = mean / mean.mean(axis=0, keepdims=True)
        w = np.maximum(np.log(lift), 0.0)
        w = w / np.maximum(w.sum(axis=0, keepdims=True), 1e-9)  # (C, K): which categories vote for class k
        evidence = w.T @ (sim - sim.mean(axis=1, keepdims=True))  # (K, 82)
        names = monotone_align(evidence)
        free = evidence.argmax(axis=1)
        agree = float(np.mean(np.array(names) == free))
        print(f"\n== head {hname}: {mean.shape[1]} classes; monotone = unconstrained best for {agree:.0%}")
        for k, j in enumerate(names):
            top = [cats[i] for i in np.argsort(-w[:, k])[:4]]
            flag = "" if free[k] == j else f"   (best alone: {UCS[free[k]]})"
            print(f"{k:3d} {UCS[j]:<17} <- {', '.join(top)}{flag}")
        result["heads"][hname] = {"index": h, "names": [UCS[j] for j in names], "agreement": agree}
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"\nwrote {args.out}")


def run_check(args: argparse.Namespace) -> None:
    """Clip-level top-1 of each named head on the corpus categories whose name is near one UCS gloss
    (MiniLM cosine >= ``--min-cos``), for the aligned names and for the names shifted by one (control)."""
    from sfcli.train.words import corpus_sources

    feats = torch.load(args.features, weights_only=False)["features"]
    names = json.loads(Path(args.names).read_text())
    heads = aisfx_heads()
    src = [s for s in corpus_sources(args.corpus) if s.category and s.key in feats]
    cats = sorted({s.category for s in src})
    sim = ucs_similarity(cats)
    truth = {c: UCS[int(sim[i].argmax())] for i, c in enumerate(cats) if sim[i].max() >= args.min_cos}
    sel = [s for s in src if s.category in truth]
    probs = [head_probs(feats[s.key], heads) for s in sel]
    print(f"{len(truth)} categories near one UCS name, {len(sel)} clips")
    for hname, spec in names["heads"].items():
        top = [p[spec["index"]].argmax() for p in probs]

        def acc(nm: list[str], top: list[int] = top) -> float:
            return float(np.mean([nm[a] == truth[s.category] for a, s in zip(top, sel, strict=True)]))

        up = [UCS[min(UCS.index(n) + 1, len(UCS) - 1)] for n in spec["names"]]
        down = [UCS[max(UCS.index(n) - 1, 0)] for n in spec["names"]]
        print(f"{hname:<20} aligned {acc(spec['names']):.3f}  shifted +1 {acc(up):.3f}  shifted -1 {acc(down):.3f}")


def run_features(args: argparse.Namespace) -> None:
    from sfcli.train.words import manifest_sources, split_of
    from sfcli.words import SoundWords

    model = SoundWords.from_pretrained(args.models)
    # labelled clips, as benchmarks/words_zeroshot.py reads them (an absolute manifest path)
    clips = [s for s in manifest_sources(Path(args.manifest).resolve()) if s.category]
    if args.split is not None:
        clips = [s for s in clips if split_of(s.split) == split_of(args.split)]
    feats, labels, texts = [], [], []
    for i, c in enumerate(clips):
        audio, rate = c.load()
        feats.append(model.clip_window_features([np.asarray(audio, dtype=np.float32)], rate)[0].half())
        labels.append(c.category)
        texts.append(list(c.descriptions))
        if i % 200 == 0:
            print(f"{i}/{len(clips)}", file=sys.stderr, flush=True)
    torch.save({"features": feats, "labels": labels, "texts": texts}, args.out)
    print(f"wrote {args.out}: {len(feats)} clips")


def run_corpus_clips(args: argparse.Namespace) -> None:
    """The held-out categories' clips of ``--holdout`` as a ``features`` blob (from a feature cache)."""
    from sfcli.train.words import corpus_sources
    from sfcli.train.words_data import holdout_split

    feats = torch.load(args.features, weights_only=False)["features"]
    _, valid, test = holdout_split(corpus_sources(args.corpus), args.holdout)
    for name, part in (("valid", valid), ("test", test)):
        part = [s for s in part if s.key in feats]
        blob = {
            "features": [feats[s.key] for s in part],
            "labels": [s.category for s in part],
            "texts": [list(s.descriptions) for s in part],
        }
        out = Path(args.out_prefix + f"-{name}.pt")
        torch.save(blob, out)
        print(f"wrote {out}: {len(part)} clips, {len(set(blob['labels']))} categories")


def ucs_text_dist(texts: list[str], tau: float) -> np.ndarray:
    """Softmax over the 82 UCS glosses of each text's MiniLM cosine, temperature ``tau``: (T, 82)."""
    z = ucs_similarity(texts) / tau
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def ucs_scores(q: np.ndarray, probs: list[np.ndarray], names: dict[str, Any], prior: list[np.ndarray]) -> np.ndarray:
    """(N clips, T texts) mean over heads of log(sum_k q(k) p(k) / sum_k q(k) prior(k))."""
    total = 0.0
    for _hname, spec in names["heads"].items():
        idx = [UCS.index(n) for n in spec["names"]]
        qh = q[:, idx]
        qh = qh / qh.sum(axis=1, keepdims=True)  # (T, K)
        p = probs[spec["index"]]  # (N, K)
        total = total + np.log(p @ qh.T + 1e-9) - np.log(prior[spec["index"]] @ qh.T + 1e-9)[None, :]
    return total / len(names["heads"])


def _accuracy(score: np.ndarray, labels: np.ndarray, k: int = 1) -> tuple[float, float]:
    top = np.argsort(-score, axis=1)[:, :k]
    hit = (top == labels[:, None]).any(axis=1)
    per_class = [hit[labels == c].mean() for c in np.unique(labels)]
    return float(hit.mean()), float(np.mean(per_class))


def run_zeroshot(args: argparse.Namespace) -> None:
    from sfcli.words import SoundWords
    from sfcli.words_eval import category_prompt

    blob = torch.load(args.clips, weights_only=False)
    names = json.loads(Path(args.names).read_text())
    names["heads"] = {h: v for h, v in names["heads"].items() if h in args.heads}
    heads = aisfx_heads()
    classes = sorted(set(blob["labels"]))
    labels = np.array([classes.index(c) for c in blob["labels"]])
    model = SoundWords.from_pretrained(args.models)
    with torch.no_grad():
        audio = model.eval().embed_window_features([f.float() for f in blob["features"]]).numpy()
    probs_per_clip = [head_probs(f, heads) for f in blob["features"]]
    probs = [np.stack([p[h] for p in probs_per_clip]) for h in range(len(HEADS))]
    prior = [p.mean(axis=0) for p in probs]
    prompts = {"label": [category_prompt(c) for c in classes]}
    by_class = defaultdict(list)
    for c, t in zip(blob["labels"], blob["texts"], strict=True):
        by_class[c].extend(t)
    if all(by_class[c] for c in classes):
        prompts["text"] = [max(set(by_class[c]), key=by_class[c].count) for c in classes]
    temp = model.temperature()
    rows = []
    for pname, texts in prompts.items():
        for mode in ("plain", "expanded"):
            q = model.text_query(texts, expand=mode == "expanded")
            sw = audio @ q.T / temp
            for tau in args.tau:
                u = ucs_scores(ucs_text_dist(texts, tau), probs, names, prior)
                for lam in args.weights:
                    s = u if lam < 0 else sw + lam * u
                    (a1, m1), (a5, m5) = _accuracy(s, labels), _accuracy(s, labels, 5)
                    rows.append(
                        {
                            "prompt": pname,
                            "mode": mode,
                            "tau": tau,
                            "weight": lam,
                            "top1": a1,
                            "top1_macro": m1,
                            "top5": a5,
                            "top5_macro": m5,
                        }
                    )
                    w = "UCS only" if lam < 0 else f"{lam:g}"
                    print(
                        f"{pname:<6} {mode:<9} tau {tau:<5g} weight {w:<9} top-1 {100 * a1:5.1f}",
                        f"macro {100 * m1:5.1f} top-5 {100 * a5:5.1f}",
                    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("align")
    a.add_argument("--features", required=True, help="train-words max-pooled feature cache (features.pt)")
    a.add_argument("--corpus", default=None)
    a.add_argument("--min-clips", type=int, default=3)
    a.add_argument("--holdout", type=float, default=0.0, help="leave train-words' held-out categories out")
    a.add_argument("--out", required=True)
    c = sub.add_parser("corpus-clips")
    c.add_argument("--features", required=True)
    c.add_argument("--corpus", default=None)
    c.add_argument("--holdout", type=float, default=0.2)
    c.add_argument("--out-prefix", required=True)
    k = sub.add_parser("check")
    k.add_argument("--features", required=True)
    k.add_argument("--names", required=True)
    k.add_argument("--corpus", default=None)
    k.add_argument("--min-cos", type=float, default=0.6)
    f = sub.add_parser("features")
    f.add_argument("manifest")
    f.add_argument("--split", default=None)
    f.add_argument("--models", default="models/soundwords")
    f.add_argument("--out", required=True)
    z = sub.add_parser("zeroshot")
    z.add_argument("clips", help="output of `features`")
    z.add_argument("--names", required=True, help="output of `align`")
    z.add_argument("--models", default="models/soundwords")
    z.add_argument("--tau", type=float, nargs="+", default=[0.02, 0.05])
    z.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0, -1.0], help="-1: UCS route only")
    z.add_argument("--heads", nargs="+", default=["prosfx", "soundlyTrain", "ucsMixed"], choices=list(HEADS))
    z.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    cmds = {
        "align": run_align,
        "features": run_features,
        "zeroshot": run_zeroshot,
        "corpus-clips": run_corpus_clips,
        "check": run_check,
    }
    cmds[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
