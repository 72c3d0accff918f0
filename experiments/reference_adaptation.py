"""Adaptation to the reference clip (what became ``sfcli separate --adapt``): does it help, and how?

    OMP_NUM_THREADS=1 python experiments/reference_adaptation.py --manifest ../shared/data/kitchen20/manifest.jsonl \
        --seed 0 --n 30 --steps 5 10 --lr 1e-4 --backgrounds procedural --out /tmp/adapt/q1.jsonl
    python experiments/reference_adaptation.py --summary /tmp/adapt/q1.jsonl

An audio query is a recording of the wanted sound. Out of domain SoundFilter has never heard sounds
like it, so it may split the mixture but hand back the wrong part. Here, for every mixture, the
shipped SoundFilter is fine-tuned for a few steps (and reset after) on mixtures made from what the
user gave: 2 s crops of the reference clip as the target, mixed at -5 … +5 dB over backgrounds —
procedural sounds (``--backgrounds procedural``, :func:`sfcli.adapt.reference_batch`, what ships) or
clips of the label-free pool (``pool``, which a user does not have) — conditioned on the query
vector, with the training loss; the adapted copy then separates the mixture. Nothing of the mixture
is used. (A first version also used the first pass's residual of the mixture as a background: where
that residual holds the target, the adaptation teaches the network to leave the target out, and such
mixtures dropped by up to 20 dB.) With ``--absent`` the same is done with the reference of a sound
that is not in the mixture, and the energy the target output keeps is recorded. ``--in-domain``
scores the corpus test mixtures instead. Variants ("What adaptation changes" in the notebook):
``--params embedding`` trains only the query vector (at ``--emb-lr``; the network frozen), ``film``
only the FiLM projections, ``both`` the vector and every weight; ``--augment S`` adds ``--copies``
copies of the reference through the training augmentation at strength S; ``--query text`` adapts a
text query to the first pass's own target. One JSON line per mixture: SI-SDRi / SDRi (present) and kept
dB (absent) after 0 and each of ``--steps`` steps, each followed by the same for the mean of the adapted
and the unadapted target; ``--summary FILE`` prints the means. The recorded
answer: docs/notebook/realworld-ablation.md, "Adaptation to the reference clip".
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
from pathlib import Path

import numpy as np
import torch


def _pool_background(pool):
    """``background(rng, n)`` for :func:`sfcli.adapt.reference_batch`: a crop of a random pool clip."""
    from sfcli.adapt import crop

    clips = pool.split("train")
    return lambda rng, n: crop(pool.audio(clips[int(rng.integers(len(clips)))]), n, rng)


def _trainable(model, emb: np.ndarray, args):
    """What ``--params`` trains: every weight (``all``, what ships), the FiLM projections (``film``),
    only the query vector (``embedding``, at ``--emb-lr``) or the vector and every weight (``both``);
    returns ``(parameters or groups for the optimizer, the embedding to train with)``."""
    params = args.params
    for name, p in model.named_parameters():
        p.requires_grad_(params in ("all", "both") or (params == "film" and "film" in name))
    weights = [p for p in model.parameters() if p.requires_grad]
    if params in ("embedding", "both"):
        vec = torch.nn.Parameter(torch.as_tensor(np.asarray(emb, dtype=np.float32)).clone())
        return [{"params": [vec], "lr": args.emb_lr}] + ([{"params": weights}] if weights else []), vec
    return weights, emb


def _augmented(ref: np.ndarray, args, rng) -> list[np.ndarray]:
    """``ref`` and ``--copies`` copies of it through the training augmentation (rooms, EQ, band-limit,
    speed) at ``--augment`` strength: the reference as if recorded elsewhere."""
    if args.augment <= 0:
        return [ref]
    aug = _augmenter(args.augment)
    return [ref] + [aug.source(ref, rng) for _ in range(args.copies)]


@functools.cache
def _augmenter(strength: float):
    from sfcli.data.augment import AugmentConfig, Augmenter

    return Augmenter(AugmentConfig.scaled(strength))


def _adapt(sep, ref, emb, pool, args, rng, at_steps):
    """Fine-tune ``sep.filter`` in place as ``--adapt`` does (:func:`sfcli.adapt.train_steps`, with pool
    backgrounds when ``pool`` is given; ``--params``, ``--augment`` vary it); ``at_steps(k, emb)`` after
    each count of ``--steps`` with the query vector to separate with."""
    from sfcli.adapt import AdaptOptions, train_steps

    model = sep.filter
    params, cond = _trainable(model, emb, args)
    opt = torch.optim.Adam(params, lr=args.lr)
    options = AdaptOptions(lr=args.lr, batch=args.batch)
    background = None if pool is None else _pool_background(pool)
    clips = _augmented(ref, args, rng)
    done = 0
    for k in sorted(args.steps):
        train_steps(model, opt, clips, cond, rng, options, k - done, background)
        done = k
        model.eval()
        at_steps(k, cond.detach().numpy() if isinstance(cond, torch.Tensor) else cond)
    for p in model.parameters():
        p.requires_grad_(True)


def _score(sep, it, kind: str, out: dict, k: int, emb) -> None:
    """Separate ``it`` with ``sep`` as it is now; record SI-SDRi / SDRi (present) or kept dB (absent),
    then the same for the mean of this target and the unadapted one (step 0's)."""
    from sfcli.evaluation import kept_db, score_mixture

    target = sep.separate(it.mixture, it.sample_rate, embedding=emb, check=False).target
    first = out.setdefault("_first", target)
    row = []
    for t in (target, (target + first) / 2):
        if kind == "absent":
            row += [kept_db(t, it.mixture)]
        else:
            s = score_mixture(t, it.mixture - t, it)
            row += [s["target_si_sdri"], s["target_sdri"]]
    out[str(k)] = row


def _score_item(sep, base_state, it, pool, args, rng) -> dict:
    from sfcli.audio import resample

    row: dict = {"name": it.name, "category": it.category}
    queries = [("present", it.ref)] + ([("absent", it.absent_ref)] if args.absent and it.absent_ref is not None else [])
    for kind, ref in queries:
        sep.filter.load_state_dict(base_state)
        rate = it.ref_sample_rate if kind == "present" else it.sample_rate
        if args.query == "text":  # the first pass's target stands in for the reference
            emb = sep.embed_query(text=it.text if kind == "present" else it.absent_text)
            ref = sep.separate(it.mixture, it.sample_rate, embedding=emb, check=False).target
            rate = it.sample_rate
        else:
            emb = sep.embed_query(reference=ref, reference_sample_rate=rate)
        ref = resample(ref, rate, sep.model_rate)
        out: dict = {}
        score = functools.partial(_score, sep, it, kind, out)
        score(0, emb)
        _adapt(sep, ref, emb, pool, args, rng, score)
        out.pop("_first")
        row[kind] = out
    return row


def summary(path: Path) -> None:
    """Print mean SI-SDRi / SDRi (present) and kept dB (absent) per number of adaptation steps."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for kind in ("present", "absent"):
        sel = [r[kind] for r in rows if kind in r]
        for k in sorted({k for r in sel for k in r}, key=int):
            v = np.array([r[k] for r in sel if k in r])
            cells = "  ".join(f"{c:6.2f}" for c in v.mean(axis=0))
            print(f"{kind:7s} steps {k:>4s}: n={len(v):3d} {cells}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", type=Path, help="labelled manifest (paper protocol mixtures)")
    ap.add_argument("--in-domain", action="store_true", help="the corpus test mixtures instead")
    ap.add_argument("--absent", action="store_true", help="also adapt to an absent sound's reference")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--steps", type=int, nargs="+", default=[10, 20, 40])
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--backgrounds", choices=["pool", "procedural"], default="pool")
    ap.add_argument("--params", choices=["all", "film", "embedding", "both"], default="all", help="what adapts")
    ap.add_argument("--emb-lr", type=float, default=3e-3, help="learning rate of the query vector")
    ap.add_argument("--augment", type=float, default=0.0, help="augment reference copies at this strength")
    ap.add_argument("--copies", type=int, default=7, help="augmented copies of the reference")
    ap.add_argument("--query", choices=["audio", "text"], default="audio", help="text: adapt to the first target")
    ap.add_argument("--pool", type=Path, default=Path("~/.cache/sfcli/pool").expanduser())
    ap.add_argument("--out", type=Path)
    ap.add_argument("--summary", type=Path)
    args = ap.parse_args(argv)
    if args.summary:
        summary(args.summary)
        return 0
    from sfcli.api import Separator
    from sfcli.data.corpus import Corpus, default_corpus_dir
    from sfcli.data.labelled import labelled_mixtures, read_labelled
    from sfcli.evaluation import read_manifest

    torch.manual_seed(args.seed)
    rng = np.random.default_rng([args.seed, 77])
    sep = Separator.from_pretrained()
    sep.filter.float()
    base_state = copy.deepcopy(sep.filter.state_dict())
    pool = None if args.backgrounds == "procedural" else Corpus.open(args.pool)
    if args.in_domain:
        items = read_manifest(default_corpus_dir() / "eval" / "test.jsonl", args.n)
    else:
        items = labelled_mixtures(read_labelled(args.manifest), "paper", args.seed, args.n)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as fh:
        for it in items:
            fh.write(json.dumps(_score_item(sep, base_state, it, pool, args, rng)) + "\n")
            fh.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
