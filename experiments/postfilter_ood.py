"""Does the spectral post-filter (with its learned mask refiner) help or hurt out of domain?

    OMP_NUM_THREADS=1 python experiments/postfilter_ood.py --kitchen20 ../shared/data/kitchen20/manifest.jsonl \
        --seeds 0 1 2 --n 100 --test-n 300 --out /tmp/pf/scores.jsonl
    python experiments/postfilter_ood.py --summary /tmp/pf/scores.jsonl

The shipped SoundFilter's post-filter sharpens the network's target by a soft STFT mask whose logit a
small learned refiner corrects (``sfcli.postfilter``). Per mixture and query this records the target
of the network alone (``raw``: projection, no post-filter), the post-filter without the refiner at the
shipped power (``plain``) and at power 1 (``plain-p1``), the shipped post-filter (``shipped``), the
shipped post-filter at powers 1 and 1.25 (``shipped-p1.0``, ``shipped-p1.25``; its refiner was trained
at 1.5), and waveform blends ``a * shipped + (1 - a) * raw``; each as SI-SDRi / SDRi (absent-sound queries: energy
kept). Every variant goes through ``Separator.separate`` (2 s windows, overlap-add) as a user's file does.
``--two-pass`` records the two-pass variants instead (:func:`record_two_pass`).
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from mixture_sets import add_arguments, query_vector, scores, variant_summary, write_rows

BLENDS = (0.25, 0.5, 0.75)


def separators(models: Path | None, names: list[str] | None = None) -> dict:
    """The separator of each computed variant (blends are made from ``raw`` and ``shipped``), or of
    those in ``names``."""
    from sfcli.api import Separator

    shipped = Separator.from_pretrained(models, check_queries=False)
    raw = Separator(shipped.filter, shipped.words, postfilter=False)
    bare = copy.deepcopy(shipped.filter)
    bare.refiner = None
    plain = Separator(bare, shipped.words)
    plain_p1 = Separator(bare, shipped.words, postfilter_power=1.0)
    softer = {f"shipped-p{p}": Separator(shipped.filter, shipped.words, postfilter_power=p) for p in (1.0, 1.25)}
    seps = {"raw": raw, "plain": plain, "plain-p1": plain_p1, "shipped": shipped} | softer
    return {k: v for k, v in seps.items() if names is None or k in names}


def record(seps: dict, it, query: str, set_name: str) -> dict:
    """Scores of every variant for one mixture and query."""
    emb = query_vector(next(iter(seps.values())), it, query)
    outs = {k: s.separate(it.mixture, it.sample_rate, embedding=emb, check=False).target for k, s in seps.items()}
    for a in BLENDS if {"raw", "shipped"} <= outs.keys() else ():
        outs[f"blend{a}"] = a * outs["shipped"] + (1 - a) * outs["raw"]
    row = {"set": set_name, "name": it.name, "category": it.category, "query": query}
    return row | {k: scores(t, it, query.startswith("absent")) for k, t in outs.items()}


def record_two_pass(seps: dict, it, query: str, set_name: str) -> dict:
    """``--two-pass``: the shipped two-pass target (the post-filter in each pass), the two passes without
    it, and the post-filter (powers 1.5 and 1) applied once to that combined target, on the whole clip."""
    import numpy as np
    import torch

    shipped, raw = seps["shipped"], seps["raw"]
    emb = query_vector(shipped, it, query)
    one = {"two": shipped, "two-raw": raw}
    outs = {k: s.separate(it.mixture, it.sample_rate, embedding=emb, check=False).target for k, s in one.items()}
    x = torch.from_numpy(np.asarray(it.mixture, dtype=np.float32).reshape(1, -1))
    t = torch.from_numpy(np.asarray(outs["two-raw"], dtype=np.float32).reshape(1, -1))
    c = torch.from_numpy(np.asarray(emb, dtype=np.float32).reshape(1, -1))
    for name, power in (("two-pf-after", None), ("two-pf-after-p1", 1.0)):
        outs[name] = shipped.filter.postfilter(x, t, c, power=power).numpy().reshape(-1)
    row = {"set": set_name, "name": it.name, "category": it.category, "query": query}
    return row | {k: scores(t, it, query.startswith("absent")) for k, t in outs.items()}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(ap)
    ap.add_argument("--variants", nargs="+", help="only these separators (default: all)")
    ap.add_argument("--two-pass", action="store_true", help="the two-pass variants instead (record_two_pass)")
    args = ap.parse_args(argv)
    if args.summary:
        variant_summary(args.summary)
        return 0
    if args.two_pass:
        seps = separators(args.models, ["raw", "shipped"])
        for sep in seps.values():
            sep.two_pass = True
        write_rows(args, lambda it, q, name: record_two_pass(seps, it, q, name))
        return 0
    seps = separators(args.models, args.variants)
    write_rows(args, lambda it, q, name: record(seps, it, q, name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
