"""The presence part of ``benchmarks/query_check.py``: mixtures, separations, scores, threshold, tables."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from sfcli.query_check import PRESENCE_SCORES
from sfcli.streaming import separate_array

KINDS = ("text", "ref")
PRESENT_FLAGGED = 0.10


def _mono(path: str | Path) -> tuple[np.ndarray, int]:
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(x.mean(axis=1)), int(sr)


def corpus_rows(manifest: Path, n: int) -> list[dict[str, Any]]:
    """Rows of an evaluation manifest (``sfcli.data.mixing.write_eval_set``) with their audio loaded."""
    from sfcli.data.mixing import read_eval_set

    rows = read_eval_set(manifest)[:n]
    for r in rows:
        r["mix"], r["sr"] = _mono(r["mixture"])
        r["ref_audio"], r["ref_sr"] = _mono(r["ref"])
        r["present"] = {r["category"], r["background_category"]}
    return rows


def kitchen20_rows(root: Path, n: int, seed: int) -> list[dict[str, Any]]:
    """Development only: ``n`` mixtures of two Kitchen20 clips of different labels (background at a
    uniform +-4 dB), each with a reference clip of the target's label from another recording."""
    items = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines() if line.strip()]
    by_label: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        by_label.setdefault(it["label"], []).append(it)
    labels = sorted(by_label)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a, b = rng.choice(len(labels), 2, replace=False)
        x_item = by_label[labels[a]][rng.integers(len(by_label[labels[a]]))]
        y_item = by_label[labels[b]][rng.integers(len(by_label[labels[b]]))]
        refs = [r for r in by_label[labels[a]] if r["source_id"] != x_item["source_id"]] or by_label[labels[a]]
        ref_item = refs[rng.integers(len(refs))]
        x, sr = _mono(root / x_item["audio"])
        y, _ = _mono(root / y_item["audio"])
        m = min(x.size, y.size)
        x = x[:m] / max(float(np.sqrt(np.mean(x[:m] ** 2))), 1e-6)
        y = y[:m] / max(float(np.sqrt(np.mean(y[:m] ** 2))), 1e-6) * 10 ** (rng.uniform(-4, 4) / 20)
        mix = x + y
        mix = (mix * 0.5 / max(float(np.abs(mix).max()), 1e-6)).astype(np.float32)
        ref, ref_sr = _mono(root / ref_item["audio"])
        rows.append(
            {
                "id": f"k20_{i:04d}",
                "mix": mix,
                "sr": sr,
                "text": x_item["text"],
                "category": labels[a],
                "ref_audio": ref,
                "ref_sr": ref_sr,
                "present": {labels[a], labels[b]},
            }
        )
    return rows


def absent_partners(rows: list[dict[str, Any]], seed: int) -> list[int]:
    """Per row, another row whose category is not in this mixture (its query is then absent)."""
    rng = np.random.default_rng(seed)
    out = []
    for r in rows:
        options = [j for j, o in enumerate(rows) if o["category"] not in r["present"]]
        out.append(int(options[rng.integers(len(options))]))
    return out


def row_scores(sep: Any, checker: Any, row: dict[str, Any], query: np.ndarray) -> dict[str, float]:
    """Separate ``row`` with ``query``; every candidate presence score plus the target's energy share."""
    target, _ = separate_array(
        row["mix"][None, :],
        row["sr"],
        sep.window_fn(query),
        window_seconds=sep.window_seconds,
        overlap_seconds=sep.overlap_seconds,
        model_rate=sep.model_rate,
    )
    sampler = checker.sampler(row["sr"])
    sampler.add(target[0], row["mix"])
    wins = sampler.windows()
    out = {}
    for name in PRESENCE_SCORES:
        s = checker.window_scores(query, wins, row["sr"], score=name)
        out[name] = float(s.max()) if s.size else float("nan")
    e_t = float(np.sum(target[0].astype(np.float64) ** 2))
    out["target energy share (dB)"] = 10 * np.log10(max(e_t, 1e-12) / max(float(np.sum(row["mix"] ** 2.0)), 1e-12))
    return out


def score_rows(sep: Any, checker: Any, rows: list[dict[str, Any]], seed: int) -> dict[str, list[dict[str, float]]]:
    """``{"text-present": [...], "text-absent": [...], "ref-present": [...], "ref-absent": [...]}``."""
    partners = absent_partners(rows, seed)
    out: dict[str, list[dict[str, float]]] = {f"{k}-{p}": [] for k in KINDS for p in ("present", "absent")}
    for row, j in zip(rows, partners, strict=True):
        other = rows[j]
        for kind in KINDS:
            for state, src in (("present", row), ("absent", other)):
                if kind == "text":
                    q = sep.embed_query(text=src["text"])
                else:
                    q = sep.embed_query(reference=src["ref_audio"], reference_sample_rate=src["ref_sr"])
                out[f"{kind}-{state}"].append(row_scores(sep, checker, row, q))
    return out


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC of scores where ``pos`` should be higher than ``neg`` (ties count half)."""
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float((p > n).mean() + 0.5 * (p == n).mean())


def best_threshold(pos: np.ndarray, neg: np.ndarray) -> float:
    """The cut (midway between two sorted scores) with the highest balanced accuracy, ``pos`` above it."""
    values = np.unique(np.r_[pos, neg])
    cuts = (values[1:] + values[:-1]) / 2 if values.size > 1 else values
    bal = [0.5 * ((pos >= c).mean() + (neg < c).mean()) for c in cuts]
    return float(cuts[int(np.argmax(bal))])


Scores = dict[str, list[dict[str, float]]]


def _values(scores: Scores, key: str, kinds: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    pres = np.array([s[key] for k in kinds for s in scores[f"{k}-present"]])
    absn = np.array([s[key] for k in kinds for s in scores[f"{k}-absent"]])
    return pres, absn


def warning_pr(scores: dict[str, list[dict[str, float]]], key: str, thr: float) -> dict[str, Any]:
    """Precision / recall of the warning (positive = the queried sound is absent), per query kind."""
    out = {}
    for label, kinds in (("text", ("text",)), ("ref", ("ref",)), ("both", KINDS)):
        pres, absn = _values(scores, key, kinds)
        tp, fp = float((absn < thr).sum()), float((pres < thr).sum())
        out[label] = {
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / absn.size, 3),
            "present_flagged": round(fp / pres.size, 3),
            "auc": round(auc(pres, absn), 3),
            "n": int(pres.size),
        }
    return out


def run_presence(sep: Any, checker: Any, corpus: Any, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Score the candidates on validation, choose score and threshold there, report test (+ Kitchen20)."""
    from sfcli.data.mixing import write_eval_set

    manifest = write_eval_set(corpus, "valid", args.valid_n, args.seed, tmp)
    valid = score_rows(sep, checker, corpus_rows(manifest, args.valid_n), args.seed)
    keys = [*PRESENCE_SCORES, "target energy share (dB)"]
    aucs = {k: {lab: warning_pr(valid, k, 0.0)[lab]["auc"] for lab in ("text", "ref", "both")} for k in keys}
    chosen = max(PRESENCE_SCORES, key=lambda k: aucs[k]["both"])
    pres, absn = _values(valid, chosen, KINDS)
    # A warning on every few legitimate queries would be noise: the threshold flags at most
    # PRESENT_FLAGGED of the validation queries whose sound is present. The balanced-accuracy cut is
    # reported beside it.
    thr = float(np.quantile(pres, PRESENT_FLAGGED))
    thr_bal = best_threshold(pres, absn)
    result: dict[str, Any] = {
        "score": chosen,
        "threshold": round(thr, 4),
        "rule": f"flags at most {PRESENT_FLAGGED:.0%} of present validation queries (text + ref pooled)",
        "balanced_threshold": round(thr_bal, 4),
        "valid_auc": aucs,
        "valid": warning_pr(valid, chosen, thr),
        "valid_balanced": warning_pr(valid, chosen, thr_bal),
        "valid_mixtures": args.valid_n,
        "seed": args.seed,
    }
    test_manifest = (args.corpus or corpus.root) / "eval" / "test.jsonl"
    test = score_rows(sep, checker, corpus_rows(test_manifest, args.test_n), args.seed)
    result["test"] = warning_pr(test, chosen, thr)
    result["test_balanced"] = warning_pr(test, chosen, thr_bal)
    result["test_mixtures"] = min(args.test_n, len(test["text-present"]))
    if args.kitchen20:
        k20 = score_rows(sep, checker, kitchen20_rows(args.kitchen20, args.kitchen20_n, args.seed), args.seed)
        result["kitchen20_dev"] = warning_pr(k20, chosen, thr)
        result["kitchen20_mixtures"] = args.kitchen20_n
    return result


def presence_table(p: dict[str, Any]) -> None:
    """Markdown tables of the presence part."""
    print(f"\n## Presence estimate (score '{p['score']}', threshold {p['threshold']}: {p['rule']})\n")
    print(f"(rows *_balanced: the balanced-accuracy threshold {p['balanced_threshold']}, not used)\n")
    print("| candidate score | valid AUC text | ref | both |\n|---|---|---|---|")
    for k, d in p["valid_auc"].items():
        print(f"| {k} | {d['text']:.3f} | {d['ref']:.3f} | {d['both']:.3f} |")
    print("\n| data | query | warning precision | recall (absent flagged) | present flagged | AUC | n per class |")
    print("|---|---|---|---|---|---|---|")
    for data in ("valid", "valid_balanced", "test", "test_balanced", "kitchen20_dev"):
        if data not in p:
            continue
        for kind, d in p[data].items():
            prec = "-" if d["precision"] is None else f"{d['precision']:.3f}"
            cells = [data, kind, prec, f"{d['recall']:.3f}", f"{d['present_flagged']:.3f}", f"{d['auc']:.3f}", d["n"]]
            print("| " + " | ".join(str(c) for c in cells) + " |")
