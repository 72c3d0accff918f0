"""Choose and measure the honest-query checks (sfcli.query_check, issue 18); optionally write them.

    .venv/bin/python benchmarks/query_check.py --models models --valid-n 200 \\
        --kitchen20 ../shared/data/kitchen20 --write

Match report (text only, no audio): scores every query by its best text-backbone cosine with a trained
category's texts (names + training descriptions). Positives: hand-written paraphrases of trained
categories, held-out templates around every category name, and every cached description scored
without itself (leave-one-out). Negatives: everyday sound classes the corpus lacks, French / German /
Spanish descriptions, nonsense (hand-written + seeded random letters). The queries are split in two
halves (by position); the threshold is chosen on the first half (highest balanced accuracy: mean of the
positives' and negatives' correct rates), and the second half reports precision / recall. The spaces
compared: text backbone (chosen), SoundWords' 64-d shared space, mean cosine to the 10 nearest
audio-bank clips.

Presence estimate (text and reference queries): on ``--valid-n`` validation mixtures (generated from
the corpus valid split with ``--seed``) each mixture is queried with its own text / reference
(present) and with another mixture's of a third category (absent). The candidate scores are compared
by ROC AUC there; the threshold of the chosen one maximises balanced accuracy on validation; precision
/ recall of its warning (positive = absent) are reported on the corpus test mixtures
(``eval/test.jsonl``) and, as out-of-domain development data only, on Kitchen20 mixtures built in a
temporary folder (two 5 s clips of different labels at +-4 dB; the reference is another clip of the
label). Kitchen20 is never used to choose anything.

``--write`` stores the categories, both thresholds and these figures in
``<models>/soundwords/query_check.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from query_check_mix import auc, best_threshold, presence_table, run_presence

HERE = Path(__file__).resolve().parent
QUERIES = HERE / "query_check_queries.json"
POSITIVE = ("paraphrase", "template", "held-out description")
NEGATIVE = ("absent category", "foreign", "nonsense")


def category_texts(cache: list[str], corpus: Any) -> dict[str, list[str]]:
    """Category -> its name and the cached (trained) descriptions the corpus gives it."""
    names = set(corpus.categories)
    by_desc: dict[str, set[str]] = {}
    for clip in corpus.clips:
        for d in clip.descriptions:
            by_desc.setdefault(d, set()).add(clip.category)
    # Spelling variants of a name ("hi hat" for "hi-hat") belong to that category.
    squash = {"".join(ch for ch in c.lower() if ch.isalnum()): c for c in names}
    out: dict[str, list[str]] = {c: [c] for c in sorted(names)}
    for text in cache:
        alias = squash.get("".join(ch for ch in text.lower() if ch.isalnum()))
        for cat in sorted(by_desc.get(text, set()) | ({alias} if alias else set())):
            if text not in out[cat]:
                out[cat].append(text)
    mapped = {t for texts in out.values() for t in texts}
    unmapped = [t for t in cache if t not in mapped]
    if unmapped:
        print(f"{len(unmapped)} cached texts have no category in the corpus, left out: {unmapped[:8]}", file=sys.stderr)
    return out


def text_queries(cats: list[str], cache: list[str], seed: int) -> dict[str, list[tuple[str, str | None]]]:
    """Group -> [(query, its trained category or None)]. Nothing in a group is a cached text, except the
    held-out descriptions, which are scored without themselves."""
    q = json.loads(QUERIES.read_text())
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    rand = [
        " ".join("".join(rng.choice(letters) for _ in range(rng.randint(3, 8))) for _ in range(rng.randint(1, 4)))
        for _ in range(40)
    ]
    templates = ("the sound of {}", "{} in the distance", "a recording of {}")
    cached = set(cache)
    groups: dict[str, list[tuple[str, str | None]]] = {
        "paraphrase": [(t, c) for c, t in q["paraphrases"].items()],
        "template": [(templates[i % 3].format(c), c) for i, c in enumerate(cats)],
        "held-out description": [(t, None) for t in cache if t not in set(cats)],
        "absent category": [(t, None) for t in q["absent"]],
        "foreign": [(t, None) for t in q["foreign"]],
        "nonsense": [(t, None) for t in q["nonsense"] + rand],
    }
    for g in ("paraphrase", "template", "absent category", "foreign", "nonsense"):
        clash = [t for t, _ in groups[g] if t in cached]
        if clash:
            raise SystemExit(f"{g} queries are cached (trained) texts: {clash[:3]}")
    return groups


def space_scores(words: Any, texts: list[str], ref_texts: list[str], loo: bool) -> dict[str, np.ndarray]:
    """Per query, the best similarity to a trained text in each candidate space (``loo``: the query's own
    row is excluded)."""
    feats = F.normalize(words.text_features(texts).float(), dim=1)
    refs = F.normalize(words.text_features(ref_texts).float(), dim=1)
    emb, ref_emb = words.embed_text(texts), words.embed_text(ref_texts)
    s_backbone = (feats @ refs.t()).numpy()
    s_shared = emb @ ref_emb.T
    if loo:
        index = {t: i for i, t in enumerate(ref_texts)}
        rows = np.arange(len(texts))
        cols = np.array([index[t] for t in texts])
        s_backbone[rows, cols] = -2.0
        s_shared[rows, cols] = -2.0
    bank = words.audio_bank.embeddings.numpy()
    s_bank = np.sort(emb @ bank.T, axis=1)[:, -10:].mean(axis=1)
    return {"backbone": s_backbone.max(1), "shared 64-d": s_shared.max(1), "audio bank k=10": s_bank}


def match_part(words: Any, checker: Any, cats: list[str], cache: list[str], seed: int) -> dict[str, Any]:
    """Choose the match threshold on the first half of the queries; report the second half."""
    groups = text_queries(cats, cache, seed)
    scores: dict[str, dict[str, np.ndarray]] = {}
    for g, items in groups.items():
        scores[g] = space_scores(words, [t for t, _ in items], cache, loo=g == "held-out description")
    halves = {g: (np.arange(len(v)) % 2 == 0) for g, v in groups.items()}

    def pooled(kind: tuple[str, ...], space: str, half: bool | None) -> np.ndarray:
        """Scores of the groups ``kind``: the choice half (True), the report half (False) or all (None)."""
        sel = {g: np.ones(len(groups[g]), bool) if half is None else halves[g] == half for g in kind}
        return np.concatenate([scores[g][space][sel[g]] for g in kind])

    aucs = {s: {neg: auc(pooled(POSITIVE, s, None), scores[neg][s]) for neg in NEGATIVE} for s in scores["nonsense"]}
    thr = best_threshold(pooled(POSITIVE, "backbone", True), pooled(NEGATIVE, "backbone", True))
    per_group = {}
    for g in groups:
        for half_name, sel in (("choice", halves[g]), ("report", ~halves[g])):
            per_group.setdefault(g, {})[half_name] = {
                "n": int(sel.sum()),
                "flagged": round(float((scores[g]["backbone"][sel] < thr).mean()), 3),
            }
    pos_r, neg_r = pooled(POSITIVE, "backbone", False), pooled(NEGATIVE, "backbone", False)
    # Positive class = trained-category description (not flagged).
    tp, fp = float((pos_r >= thr).sum()), float((neg_r >= thr).sum())
    ranks = checker.category_similarities([t for t, _ in groups["paraphrase"]])
    truth = [cats.index(c) for _, c in groups["paraphrase"]]
    order = np.argsort(-ranks, axis=1)
    top1 = float(np.mean([order[i, 0] == truth[i] for i in range(len(truth))]))
    top3 = float(np.mean([truth[i] in order[i, :3] for i in range(len(truth))]))
    return {
        "threshold": round(thr, 4),
        "space": "text backbone (all-MiniLM-L6-v2 sentence features), best cosine with a category's texts",
        "auc_positive_vs": {s: {k: round(v, 3) for k, v in d.items()} for s, d in aucs.items()},
        "report_half": {
            "precision_trained": round(tp / (tp + fp), 3),
            "recall_trained": round(tp / len(pos_r), 3),
            "n_positive": len(pos_r),
            "n_negative": len(neg_r),
        },
        "flagged": per_group,
        "paraphrase_category_top1": round(top1, 3),
        "paraphrase_category_top3": round(top3, 3),
    }


def print_match(m: dict[str, Any]) -> None:
    """Markdown tables of the match part."""
    print(f"\n## Match report (threshold {m['threshold']})\n")
    print("| space | AUC vs absent | vs foreign | vs nonsense |\n|---|---|---|---|")
    for s, d in m["auc_positive_vs"].items():
        print(f"| {s} | " + " | ".join(f"{d[n]:.3f}" for n in NEGATIVE) + " |")
    print("\n| group | n (choice / report) | flagged, choice half | flagged, report half |\n|---|---|---|---|")
    for g, d in m["flagged"].items():
        c, r = d["choice"], d["report"]
        print(f"| {g} | {c['n']} / {r['n']} | {100 * c['flagged']:.1f} % | {100 * r['flagged']:.1f} % |")
    r = m["report_half"]
    print(
        f"\nreport half, positive = trained: precision {r['precision_trained']:.3f}, recall {r['recall_trained']:.3f}"
        f" ({r['n_positive']} positives, {r['n_negative']} negatives); paraphrase category top-1"
        f" {m['paraphrase_category_top1']:.3f}, top-3 {m['paraphrase_category_top3']:.3f}"
    )


def kitchen20_texts(checker: Any, root: Path) -> list[dict[str, Any]]:
    """Development only: the match report of each Kitchen20 label's description."""
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines() if line.strip()]
    texts = sorted({r["text"] for r in rows})
    out = []
    for t in texts:
        found = checker.matches(t)
        out.append({"text": t, "matches": found, "flagged": checker.match_warning(t, found) is not None})
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=Path("models"))
    ap.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: $SFCLI_CACHE/corpus)")
    ap.add_argument("--valid-n", type=int, default=200, help="validation mixtures for the presence threshold")
    ap.add_argument("--test-n", type=int, default=300, help="test mixtures (from the corpus eval/test.jsonl)")
    ap.add_argument("--kitchen20", type=Path, default=None, help="Kitchen20 folder (development report only)")
    ap.add_argument("--kitchen20-n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--write", action="store_true", help="write <models>/soundwords/query_check.json")
    ap.add_argument("--json-out", type=Path, default=None, help="also save every figure as JSON here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from sfcli.api import Separator
    from sfcli.data.corpus import Corpus
    from sfcli.query_check import QueryChecker

    t0 = time.time()
    sep = Separator.from_pretrained(args.models)
    words = sep.words
    folder = args.models / "soundwords"
    cache = json.loads((folder / "text_cache.json").read_text())
    corpus = Corpus.open(args.corpus) if args.corpus else Corpus.open()
    categories = category_texts(cache, corpus)
    checker = QueryChecker(words, categories, match_threshold=0.0, presence_threshold=0.0)
    cats = list(checker.categories)
    match = match_part(words, checker, cats, cache, args.seed)
    checker.match_threshold = match["threshold"]
    print_match(match)
    report: dict[str, Any] = {"match": match}
    if args.kitchen20:
        k20 = kitchen20_texts(checker, args.kitchen20)
        report["kitchen20_texts"] = k20
        flagged = sum(r["flagged"] for r in k20)
        print(f"\nKitchen20 label descriptions flagged (development only): {flagged} of {len(k20)}")
        for r in k20:
            near = ", ".join(f"{c} {s:.2f}" for c, s in r["matches"])
            print(f"- {r['text']}: {near}{' (warned)' if r['flagged'] else ''}")

    with tempfile.TemporaryDirectory(prefix="sfcli-query-check-") as tmp:
        presence = run_presence(sep, checker, corpus, args, Path(tmp))
    checker.presence_threshold = presence["threshold"]
    checker.presence_score = presence["score"]
    presence_table(presence)
    report["presence"] = presence
    print(f"\n({time.time() - t0:.0f} s)", file=sys.stderr)
    command = "python benchmarks/query_check.py " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=1) + "\n")
    if args.write:
        checker.info = {
            "about": "sfcli.query_check thresholds (issue 18); see docs/query-check.md",
            "command": command,
            "corpus_built": corpus.meta.get("built"),
            "match": {k: v for k, v in match.items() if k != "flagged"} | {"flagged": match["flagged"]},
            "presence": presence,
        }
        print(f"wrote {checker.save(folder)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
