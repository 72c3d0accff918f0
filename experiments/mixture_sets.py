"""The harness the per-mixture experiments share (not a script): which mixture sets to score, the query
vector of each query kind, and one JSON line per (set, mixture, query).

Sets: Kitchen20 (or any labelled manifest) under the paper (or ESC-50) protocol, one set ``k20-s<seed>`` per mixture
seed; ``--valid-n`` mixtures generated from the corpus's valid split (seed 0); the first ``--test-n``
corpus test mixtures. Query kinds: ``text``, ``audio`` (another recording of the label, or a disjoint
crop in domain), ``absent-text`` and ``absent-audio`` (a label in neither source).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

QUERIES = ("text", "audio", "absent-text", "absent-audio")


def add_arguments(
    ap: argparse.ArgumentParser, seeds: Sequence[int] = (0, 1, 2), n: int = 100, queries: Sequence[str] = QUERIES
) -> None:
    """The options every per-mixture experiment takes: sets, queries, models, ``--out`` and ``--summary``."""
    ap.add_argument("--kitchen20", type=Path, help="labelled manifest (its mixtures by --protocol)")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(seeds))
    ap.add_argument("--n", type=int, default=n, help="mixtures per seed")
    ap.add_argument("--protocol", choices=["paper", "esc50"], default="paper", help="of the labelled mixtures")
    ap.add_argument("--valid-n", type=int, default=0, help="also corpus validation mixtures (seed 0)")
    ap.add_argument("--test-n", type=int, default=0, help="also the first N corpus test mixtures")
    ap.add_argument("--queries", nargs="+", default=list(queries), choices=QUERIES)
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--out", type=Path, help="JSON lines, one per (set, mixture, query)")
    ap.add_argument("--summary", type=Path, help="print the summary of such a file instead")


def mixture_sets(args: argparse.Namespace) -> list[tuple[str, list]]:
    """``(name, mixtures)`` of each set the options ask for."""
    from sfcli.data.corpus import default_corpus_dir
    from sfcli.data.labelled import labelled_mixtures, read_labelled
    from sfcli.evaluation import generated_mixtures, read_manifest

    sets: list[tuple[str, list]] = []
    if args.kitchen20:
        clips = read_labelled(args.kitchen20)
        sets += [(f"k20-s{s}", labelled_mixtures(clips, args.protocol, s, args.n)) for s in args.seeds]
    if args.valid_n:
        sets.append(("valid", generated_mixtures(None, "valid", args.valid_n, 0)))
    if args.test_n:
        sets.append(("test", read_manifest(default_corpus_dir() / "eval" / "test.jsonl", args.test_n)))
    return sets


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to unit length (float32); a zero vector stays zero."""
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def has_query(it: Any, query: str) -> bool:
    """Whether mixture ``it`` can be asked ``query`` (in-domain mixtures have no absent-sound queries)."""
    need = {"text": it.text, "audio": it.ref, "absent-text": it.absent_text, "absent-audio": it.absent_ref}[query]
    return need is not None and not (isinstance(need, str) and not need)


def query_vector(sep: Any, it: Any, query: str) -> np.ndarray:
    """The conditioning vector of ``query`` for mixture ``it`` (``sep``: an :class:`sfcli.api.Separator`)."""
    if query == "text":
        return sep.embed_query(text=it.text)
    if query == "audio":
        return sep.embed_query(reference=it.ref, reference_sample_rate=it.ref_sample_rate)
    if query == "absent-text":
        return sep.embed_query(text=it.absent_text)
    return sep.embed_query(reference=it.absent_ref, reference_sample_rate=it.sample_rate)


def write_rows(args: argparse.Namespace, record: Callable[[Any, str, str], dict]) -> None:
    """``record(mixture, query, set_name)`` for every set, mixture and (possible) query, written to
    ``args.out`` one JSON line at a time, under ``torch.inference_mode``."""
    sets = mixture_sets(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as fh, torch.inference_mode():
        for name, items in sets:
            for it in items:
                for q in args.queries:
                    if has_query(it, q):
                        fh.write(json.dumps(record(it, q, name)) + "\n")
                        fh.flush()


def variant_summary(path: Path) -> None:
    """For rows holding one dict of scores per variant: each variant's mean per set group and query
    (SI-SDRi and SDRi, or kept dB), per set, and its worst change of a mixture against the row's first
    variant."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    keys = [k for k in rows[0] if isinstance(rows[0][k], dict)]
    for group in sorted({(r["set"].split("-s")[0], r["query"]) for r in rows}):
        sel = [r for r in rows if (r["set"].split("-s")[0], r["query"]) == group]
        metric = "kept" if group[1].startswith("absent") else "si_sdri"
        sets = sorted({r["set"] for r in sel})
        print(f"{group[0]} {group[1]} n={len(sel)}")
        base = np.array([r[keys[0]][metric] for r in sel])
        for k in keys:
            v = np.array([r[k][metric] for r in sel])
            per_set = " ".join(f"{s}:{np.mean([r[k][metric] for r in sel if r['set'] == s]):.2f}" for s in sets)
            extra = "" if metric == "kept" else f" sdri {np.mean([r[k]['sdri'] for r in sel]):6.2f}"
            print(f"  {k:14s} {metric} {v.mean():6.2f}{extra}  worst change {np.min(v - base):7.2f}  {per_set}")


def scores(target: np.ndarray, it: Any, absent: bool) -> dict:
    """``{"kept": dB}`` for an absent-sound query, else the target's ``si_sdri`` and ``sdri``."""
    from sfcli.evaluation import kept_db, score_mixture

    if absent:
        return {"kept": kept_db(target, it.mixture)}
    s = score_mixture(target, it.mixture - target, it)
    return {"si_sdri": s["target_si_sdri"], "sdri": s["target_sdri"]}


def variant_main(
    doc: str,
    record: Callable[[Any, Any, str, str], dict],
    argv: list[str] | None,
    summary: Callable[[Path], None] | None = None,
    **defaults: Any,
) -> int:
    """Command-line entry point of a per-mixture study: ``--summary FILE`` prints ``summary(FILE)``
    (:func:`variant_summary` by default); otherwise ``record(separator, mixture, query, set_name)`` is
    written for every set, mixture and query (:func:`write_rows`) with the shipped (or ``--models``)
    separator. ``defaults`` go to :func:`add_arguments` (``seeds``, ``n``, ``queries``)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    add_arguments(ap, **defaults)
    args = ap.parse_args(argv)
    if args.summary:
        (summary or variant_summary)(args.summary)
        return 0
    from sfcli.api import Separator

    sep = Separator.from_pretrained(args.models)
    write_rows(args, lambda it, q, name: record(sep, it, q, name))
    return 0
