"""Evaluate a SoundWords model: cross-modal retrieval and zero-shot classification.

Metrics (all fractions in ``[0, 1]``):

* ``t2a_R@k`` — text→audio recall: a text query is a hit when one of its paired clips is among the
  ``k`` nearest clips. With the **Clotho protocol** (every record carries exactly 5 captions, as in
  Clotho and in the paper's §4.1) each (clip, caption) pair is one query with its own clip as the only
  relevant item. Otherwise every distinct description is one query and every clip that carries it is
  relevant (so duplicated descriptions of a category are not counted as misses).
* ``a2t_R@k`` — audio→text recall: a clip is a hit when one of its descriptions is among the ``k``
  nearest distinct descriptions.
* ``t2a_category_R@k`` — text→audio where any clip of the query's category counts (records with a
  category only).
* ``zeroshot_top1`` / ``zeroshot_top5`` — each clip is classified among the categories present in the
  records by the similarity of its embedding to the text embedding of the category name (a share of
  clips, so large categories weigh more).
* ``zeroshot_top1_macro`` — the same top-1 accuracy computed per category and then averaged, so every
  category counts once however many clips it has.
* ``zeroshot_top1_per_category`` — (with ``per_category=True``) each category's own top-1 accuracy.

:func:`zeroshot_scores` is the zero-shot part on its own (class embeddings given), with per-class
accuracies and the confusions of the worst classes (``benchmarks/words_zeroshot.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

KS = (1, 5, 10)


@dataclass
class EvalRecord:
    """What evaluation needs of one clip: its descriptions and (optionally) its category."""

    descriptions: list[str]
    category: str | None = None


def as_eval_record(record: Any) -> EvalRecord:
    """Read ``descriptions`` / ``captions`` / ``text`` and ``category`` / ``label`` from an object or dict."""

    def get(name: str) -> Any:
        if isinstance(record, dict):
            return record.get(name)
        return getattr(record, name, None)

    descs = get("descriptions") or get("captions") or get("text")
    if isinstance(descs, str):
        descs = [descs]
    descs = [d.strip() for d in (descs or []) if isinstance(d, str) and d.strip()]
    category = get("category") or get("label")
    return EvalRecord(descriptions=descs, category=str(category) if category else None)


def category_prompt(category: str, template: str = "{}") -> str:
    """The text used for a category in zero-shot classification ("dog_bark" → "dog bark").

    ``template`` wraps the cleaned name, e.g. ``"the sound of {}"``.
    """
    return template.format(category.replace("_", " ").replace("-", " ").strip())


def _recall_at(ranks: np.ndarray, k: int) -> float:
    return float((ranks < k).mean()) if ranks.size else float("nan")


def _best_rank(sim: np.ndarray, relevant: list[np.ndarray]) -> np.ndarray:
    """For each query row, the 0-based rank of its best-ranked relevant item."""
    order = np.argsort(-sim, axis=1, kind="stable")
    ranks = np.empty(sim.shape[0], dtype=np.int64)
    for i, rel in enumerate(relevant):
        pos = np.flatnonzero(np.isin(order[i], rel))
        ranks[i] = pos[0] if pos.size else sim.shape[1]
    return ranks


def evaluate_embeddings(
    audio_emb: np.ndarray,
    records: Sequence[EvalRecord],
    text_embed: Callable[[list[str]], np.ndarray],
    *,
    ks: Sequence[int] = KS,
    template: str | Sequence[str] = "{}",
    per_category: bool = False,
) -> dict[str, Any]:
    """All metrics from clip embeddings ``(N, D)`` (unit rows) and a text-embedding function.

    ``template`` formats category names into zero-shot prompts (see :func:`category_prompt`); several
    templates make a prompt ensemble: a category is the re-normalised mean of its prompts' embeddings.
    ``per_category`` adds ``zeroshot_top1_per_category`` (category name → its top-1 accuracy).
    """
    records = list(records)
    if len(records) != audio_emb.shape[0]:
        raise ValueError("one audio embedding per record is needed")
    keep = [i for i, r in enumerate(records) if r.descriptions]
    audio = audio_emb[keep]
    recs = [records[i] for i in keep]
    out: dict[str, Any] = {"n_clips": len(recs)}
    if not recs:
        return out
    texts = list(dict.fromkeys(d for r in recs for d in r.descriptions))
    temb = text_embed(texts)
    out.update(_retrieval_metrics(audio, recs, texts, temb, ks))
    if all(r.category for r in recs):
        out.update(_category_metrics(audio, recs, texts, temb, text_embed, ks, template, per_category))
    return out


def _retrieval_metrics(
    audio: np.ndarray, recs: Sequence[EvalRecord], texts: list[str], temb: np.ndarray, ks: Sequence[int]
) -> dict[str, Any]:
    """Text→audio and audio→text recall at ``ks`` over the distinct descriptions ``texts`` (embedded as
    ``temb``): Clotho's protocol (five captions per clip, each query with its one clip) when every clip
    has five descriptions, otherwise each distinct description with every clip that has it."""
    out: dict[str, Any] = {}
    index = {t: j for j, t in enumerate(texts)}
    if all(len(r.descriptions) == 5 for r in recs):
        q_rows = [index[d] for r in recs for d in r.descriptions]
        q_rel = [np.array([i]) for i, r in enumerate(recs) for _ in r.descriptions]
        out["protocol"] = "clotho"
    else:
        owners: dict[str, list[int]] = {}
        for i, r in enumerate(recs):
            for d in dict.fromkeys(r.descriptions):
                owners.setdefault(d, []).append(i)
        q_rows = list(range(len(texts)))
        q_rel = [np.array(owners[t]) for t in texts]
        out["protocol"] = "pairs"
    ranks = _best_rank(temb[q_rows] @ audio.T, q_rel)
    out["n_text_queries"] = len(q_rows)
    for k in ks:
        out[f"t2a_R@{k}"] = _recall_at(ranks, k)
    a_rel = [np.array([index[d] for d in r.descriptions]) for r in recs]
    ranks = _best_rank(audio @ temb.T, a_rel)
    out["n_texts"] = len(texts)
    for k in ks:
        out[f"a2t_R@{k}"] = _recall_at(ranks, k)
    return out


def _category_metrics(
    audio: np.ndarray,
    recs: Sequence[EvalRecord],
    texts: list[str],
    temb: np.ndarray,
    text_embed: Callable[[list[str]], np.ndarray],
    ks: Sequence[int],
    template: str | Sequence[str],
    per_category: bool,
) -> dict[str, Any]:
    """Category-level text→audio recall and zero-shot classification (see :func:`evaluate_embeddings`)."""
    out: dict[str, Any] = {}
    cats = sorted({r.category for r in recs if r.category})
    cat_of = np.array([cats.index(r.category) for r in recs])  # type: ignore[arg-type]
    out["n_categories"] = len(cats)
    # Text→audio at category level: each distinct description, any clip of its category relevant.
    text_cat: dict[str, int] = {}
    for r, c in zip(recs, cat_of, strict=True):
        for d in r.descriptions:
            text_cat.setdefault(d, int(c))
    rel = [np.flatnonzero(cat_of == text_cat[t]) for t in texts]
    ranks = _best_rank(temb @ audio.T, rel)
    for k in ks:
        out[f"t2a_category_R@{k}"] = _recall_at(ranks, k)
    templates = [template] if isinstance(template, str) else list(template)
    cemb = np.mean([text_embed([category_prompt(c, t) for c in cats]) for t in templates], axis=0)
    if len(templates) > 1:
        cemb = cemb / np.linalg.norm(cemb, axis=1, keepdims=True)
    zs = zeroshot_scores(audio, cat_of, cemb, cats, worst=0)
    out["zeroshot_top1"] = zs["top1"]
    out["zeroshot_top5"] = zs["top5"]
    out["zeroshot_top1_macro"] = zs["top1_macro"]
    if per_category:
        out["zeroshot_top1_per_category"] = {c: v["top1"] for c, v in zs["per_class"].items()}
    return out


def zeroshot_scores(
    audio_emb: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    class_emb: np.ndarray,
    class_names: Sequence[str],
    *,
    worst: int = 5,
    confusions: int = 3,
) -> dict[str, Any]:
    """Zero-shot classification of clips ``(N, D)`` among classes ``(C, D)`` by cosine similarity.

    ``labels[i]`` is clip ``i``'s class index. Returns ``top1`` / ``top5`` per clip (micro),
    ``top1_macro`` / ``top5_macro`` (mean of the per-class accuracies of the classes that have clips),
    ``per_class`` (``{name: {"n", "top1", "top5"}}``) and ``worst``: the ``worst`` classes by top-1 (ties
    by name), each with its ``confusions`` most frequent wrong top-1 predictions as ``[name, count]``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    names = list(class_names)
    if class_emb.shape[0] != len(names) or audio_emb.shape[0] != labels.shape[0]:
        raise ValueError("one class embedding per class name and one label per clip are needed")
    order = np.argsort(-(audio_emb @ class_emb.T), axis=1, kind="stable")
    rank = np.argmax(order == labels[:, None], axis=1)
    pred = order[:, 0]
    per_class: dict[str, dict[str, Any]] = {}
    for c, name in enumerate(names):
        mine = labels == c
        if mine.any():
            top1, top5 = float((rank[mine] < 1).mean()), float((rank[mine] < 5).mean())
            per_class[name] = {"n": int(mine.sum()), "top1": top1, "top5": top5}
    bad = sorted(per_class, key=lambda n: (per_class[n]["top1"], n))[: max(worst, 0)]
    worst_rows = []
    for name in bad:
        c = names.index(name)
        wrong = np.bincount(pred[(labels == c) & (pred != c)], minlength=len(names))
        top = [int(j) for j in np.argsort(-wrong, kind="stable")[:confusions] if wrong[j] > 0]
        worst_rows.append({"class": name, **per_class[name], "confused_with": [[names[j], int(wrong[j])] for j in top]})
    return {
        "n_clips": int(labels.shape[0]),
        "n_classes": len(names),
        "top1": float((rank < 1).mean()) if rank.size else float("nan"),
        "top5": float((rank < 5).mean()) if rank.size else float("nan"),
        "top1_macro": float(np.mean([v["top1"] for v in per_class.values()])) if per_class else float("nan"),
        "top5_macro": float(np.mean([v["top5"] for v in per_class.values()])) if per_class else float("nan"),
        "per_class": per_class,
        "worst": worst_rows,
    }


def evaluate_words(
    model: Any,
    records: Sequence[Any],
    audio_fn: Callable[[Any], tuple[np.ndarray, int]],
    *,
    ks: Sequence[int] = KS,
    batch: int = 16,
    template: str | Sequence[str] = "{}",
) -> dict[str, Any]:
    """Embed every record's audio (``audio_fn(record) -> (clip, sample_rate)``) and its texts with
    ``model`` (a :class:`sfcli.words.SoundWords`) and return :func:`evaluate_embeddings`' dict."""
    recs = list(records)
    embs = []
    for i in range(0, len(recs), batch):
        chunk = [audio_fn(r) for r in recs[i : i + batch]]
        for clip, sr in chunk:
            embs.append(model.embed_audio([np.asarray(clip)], sr))
    audio = np.concatenate(embs) if embs else np.zeros((0, model.config.embed_dim), dtype=np.float32)
    return evaluate_embeddings(audio, [as_eval_record(r) for r in recs], model.embed_text, ks=ks, template=template)
