"""Separation evaluation behind ``sfcli eval``: SI-SDR / SI-SDRi of target and residual.

Input: JSONL mixture manifests (the corpus's ``write_eval_set`` format), one mixture per line::

    {"mixture": "m/0001.wav", "target": "t/0001.wav", "background": "b/0001.wav",
     "text": "a dog barks", "ref": "r/0001.wav", "category": "dog"}

Paths are relative to the manifest. ``ref`` is the audio query (a crop of the target's clip disjoint
from the target crop); ``text`` the text query.

For every model (a :class:`sfcli.api.Separator`, one per checkpoint or seed) and query kind (``text``,
``audio``) this computes, per mixture, SI-SDR and SI-SDRi of the target output against the true target
and of the residual output against the true background, then means overall and per category. Several
models give mean ± standard deviation (population std, ``ddof=0``) of those means across runs, as in the
paper's three-run tables. The oracle ideal-ratio-mask SI-SDRi on the same mixtures is reported as the
reference bound; the no-separation baseline is 0 dB SI-SDRi by definition.

The diagnostic query kind ``other-text`` asks each mixture for the text of a *different* category
(the next mixture's, in manifest order, whose category differs) and scores the target output against
the true target as usual: how much of the target comes out when something else is asked for. A model
that follows the query scores far lower here than with ``text``; it is never part of the CI gate.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sfcli.errors import SfcliError
from sfcli.metrics import ideal_ratio_mask_separation, sdr_np, si_sdr_np

QUERIES = ("text", "audio")
ABSENT_QUERIES = ("absent-text", "absent-audio")
DIAGNOSTIC_QUERIES = ("other-text", *ABSENT_QUERIES)
ALL_QUERIES = QUERIES + DIAGNOSTIC_QUERIES
METRICS = ("target_si_sdr", "target_si_sdri", "residual_si_sdr", "residual_si_sdri", "target_sdr", "target_sdri")
ABSENT_METRICS = ("kept_db",)
ProgressFn = Callable[[int, int], None]
SILENT_PEAK = 1e-6
"""A target or background whose peak is at most this (-120 dBFS; all zeros included) is silent: SI-SDR
against it is meaningless (an input SI-SDR near -100 dB, improvements that swamp every mean)."""


@dataclass
class EvalMixture:
    """One evaluation mixture: mono float32 arrays at ``sample_rate``, its queries and category."""

    name: str
    mixture: np.ndarray
    target: np.ndarray
    background: np.ndarray
    sample_rate: int
    text: str | None
    ref: np.ndarray | None
    ref_sample_rate: int | None
    category: str
    absent_text: str | None = None
    absent_ref: np.ndarray | None = None


def _load_mono(path: Path) -> tuple[np.ndarray, int]:
    from sfcli.audio import load_audio, to_mono

    x, sr = load_audio(path)
    return np.ascontiguousarray(to_mono(x), dtype=np.float32), int(sr)


def read_manifest(path: str | Path, limit: int | None = None) -> list[EvalMixture]:
    """Read a JSONL mixture manifest into :class:`EvalMixture` records (audio loaded).

    Raises :class:`SfcliError` for a missing file, bad JSON, missing fields, unreadable audio or
    mismatched lengths / rates, naming the line.
    """
    path = Path(path)
    if not path.is_file():
        raise SfcliError(f"{path}: no such manifest")
    out: list[EvalMixture] = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        if limit is not None and len(out) >= limit:
            break
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SfcliError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise SfcliError(f"{where}: expected a JSON object")
        for key in ("mixture", "target", "background"):
            if not row.get(key):
                raise SfcliError(f"{where}: missing field {key!r}")

        def resolve(p: str) -> Path:
            q = Path(p)
            return q if q.is_absolute() else path.parent / q

        mix, sr = _load_mono(resolve(row["mixture"]))
        tgt, sr_t = _load_mono(resolve(row["target"]))
        bg, sr_b = _load_mono(resolve(row["background"]))
        if not (sr == sr_t == sr_b):
            raise SfcliError(f"{where}: mixture, target and background have different sample rates")
        if not (mix.shape == tgt.shape == bg.shape):
            raise SfcliError(f"{where}: mixture, target and background have different lengths")
        if silent := silent_sources(tgt, bg):
            raise SfcliError(
                f"{where}: the {silent[0]} {row[silent[0]]} is silent (SI-SDR against silence means nothing); "
                "fix or remove the row"
            )
        ref, ref_sr = (None, None)
        if row.get("ref"):
            ref, ref_sr = _load_mono(resolve(row["ref"]))
        text = row.get("text")
        if isinstance(text, list):
            text = text[0] if text else None
        text = text.strip() if isinstance(text, str) and text.strip() else None
        name = str(row.get("id") or row.get("name") or Path(row["mixture"]).stem)
        out.append(EvalMixture(name, mix, tgt, bg, sr, text, ref, ref_sr, str(row.get("category") or "all")))
    if not out:
        raise SfcliError(f"{path}: no mixtures")
    return out


def silent_sources(target: np.ndarray, background: np.ndarray) -> list[str]:
    """Which of ``"target"`` and ``"background"`` is silent (peak at most :data:`SILENT_PEAK`)."""
    pairs = (("target", target), ("background", background))
    return [k for k, x in pairs if not float(np.max(np.abs(x), initial=0.0)) > SILENT_PEAK]


def check_audible(items: Sequence[EvalMixture]) -> None:
    """Raise :class:`SfcliError` naming the first mixture whose target or background is silent."""
    for it in items:
        if silent := silent_sources(it.target, it.background):
            raise SfcliError(f"mixture {it.name}: the {silent[0]} is silent (SI-SDR against silence means nothing)")


def score_mixture(estimate_target: np.ndarray, estimate_residual: np.ndarray, item: EvalMixture) -> dict[str, float]:
    """SI-SDR and SI-SDRi of the two outputs of one mixture, and plain SDR / SDRi of the target."""
    t_in = si_sdr_np(item.mixture, item.target)
    b_in = si_sdr_np(item.mixture, item.background)
    t = si_sdr_np(estimate_target, item.target)
    r = si_sdr_np(estimate_residual, item.background)
    sdr = sdr_np(estimate_target, item.target)
    return {
        "target_si_sdr": t,
        "target_si_sdri": t - t_in,
        "residual_si_sdr": r,
        "residual_si_sdri": r - b_in,
        "target_sdr": sdr,
        "target_sdri": sdr - sdr_np(item.mixture, item.target),
    }


def kept_db(estimate_target: np.ndarray, mixture: np.ndarray) -> float:
    """Energy of the target output relative to the mixture's, in dB (for absent-sound queries: lower is better)."""
    num = float(np.sum(np.square(estimate_target, dtype=np.float64)))
    den = float(np.sum(np.square(mixture, dtype=np.float64)))
    return float(10 * np.log10((num + 1e-12) / (den + 1e-12)))


def irm_scores(items: Sequence[EvalMixture], n_fft: int = 1024, hop: int = 256) -> list[dict[str, float]]:
    """The oracle ideal-ratio-mask scores of every mixture (:func:`score_mixture` fields)."""
    out = []
    for it in items:
        t, r = ideal_ratio_mask_separation(it.target, it.background, it.mixture, n_fft=n_fft, hop=hop)
        out.append(score_mixture(t, r, it))
    return out


def separate_items(
    separator: Any, items: Sequence[EvalMixture], queries: Sequence[str] = QUERIES, progress: ProgressFn | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Run ``separator`` (a :class:`sfcli.api.Separator`) on every mixture for each query kind.

    Returns ``{query: [per-mixture scores with "name" and "category"]}``; mixtures that lack the query
    (no text or no ref) are skipped for that kind.
    """
    out: dict[str, list[dict[str, Any]]] = {q: [] for q in queries}
    total, done = len(items) * len(queries), 0
    others = other_texts(items) if "other-text" in queries else []
    for i, it in enumerate(items):
        for q in queries:
            done += 1
            if q == "text" and it.text:
                res = separator.separate(it.mixture, it.sample_rate, text=it.text)
            elif q == "other-text" and others[i]:
                res = separator.separate(it.mixture, it.sample_rate, text=others[i])
            elif q == "audio" and it.ref is not None:
                res = separator.separate(
                    it.mixture, it.sample_rate, reference=it.ref, reference_sample_rate=it.ref_sample_rate
                )
            elif q == "absent-text" and it.absent_text:
                res = separator.separate(it.mixture, it.sample_rate, text=it.absent_text)
            elif q == "absent-audio" and it.absent_ref is not None:
                res = separator.separate(
                    it.mixture, it.sample_rate, reference=it.absent_ref, reference_sample_rate=it.sample_rate
                )
            else:
                continue
            if q in ABSENT_QUERIES:
                scores = {"kept_db": kept_db(res.target, it.mixture)}
            else:
                scores = score_mixture(res.target, res.residual, it)
            out[q].append({"name": it.name, "category": it.category, **scores})
            if progress is not None:
                progress(done, total)
    return out


def other_texts(items: Sequence[EvalMixture]) -> list[str | None]:
    """For each mixture, the text query of the next mixture (cyclically) of another category, if any."""
    out: list[str | None] = []
    n = len(items)
    for i, it in enumerate(items):
        pick = None
        for k in range(1, n):
            other = items[(i + k) % n]
            if other.text and other.category != it.category:
                pick = other.text
                break
        out.append(pick)
    return out


def metrics_of(query: str) -> tuple[str, ...]:
    """The per-mixture metrics a query kind reports."""
    return ABSENT_METRICS if query in ABSENT_QUERIES else METRICS


def _means(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    if not rows:
        return {"n": 0}
    keys = [m for m in METRICS + ABSENT_METRICS if m in rows[0]]
    return {m: float(np.mean([r[m] for r in rows])) for m in keys} | {"n": len(rows)}


def summarize(per_query: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Means overall and per category: ``{"overall": {query: means}, "per_category": {cat: {query: means}}}``."""
    overall = {q: _means(rows) for q, rows in per_query.items()}
    cats = sorted({r["category"] for rows in per_query.values() for r in rows})
    per_cat = {c: {q: _means([r for r in rows if r["category"] == c]) for q, rows in per_query.items()} for c in cats}
    return {"overall": overall, "per_category": per_cat}


def _mean_std(values: list[float]) -> dict[str, float]:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return {"mean": float("nan"), "std": float("nan"), "runs": 0}
    return {"mean": float(np.mean(vals)), "std": float(np.std(vals)), "runs": len(vals)}


def aggregate_runs(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± std across runs of each run's overall and per-category means."""
    queries = sorted(
        {q for r in runs for q in r["overall"]}, key=lambda q: ALL_QUERIES.index(q) if q in ALL_QUERIES else 9
    )
    overall = {
        q: {
            m: _mean_std([r["overall"][q].get(m, float("nan")) for r in runs if q in r["overall"]])
            for m in metrics_of(q)
        }
        for q in queries
    }
    cats = sorted({c for r in runs for c in r["per_category"]})
    per_cat = {
        c: {
            q: {
                m: _mean_std([r["per_category"][c][q].get(m, float("nan")) for r in runs if c in r["per_category"]])
                for m in metrics_of(q)
            }
            for q in queries
        }
        for c in cats
    }
    return {"overall": overall, "per_category": per_cat}


def evaluate(
    separators: Sequence[tuple[str, Any]],
    items: Sequence[EvalMixture] | Sequence[tuple[str, Sequence[EvalMixture]]],
    *,
    queries: Sequence[str] = QUERIES,
    irm: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """The full report: per-run summaries, mean ± std across runs, the IRM bound and the baseline.

    ``separators`` are ``(name, separator)`` pairs (checkpoints or seeds of one recipe). ``items`` is one
    list of mixtures, or several ``(name, mixtures)`` sets (e.g. one per mixture seed): every separator
    runs on every set, and each (separator, set) pair is one run of the mean ± std.
    """
    if not separators:
        raise SfcliError("no model to evaluate")
    for q in queries:
        if q not in ALL_QUERIES:
            raise SfcliError(f"unknown query kind {q!r} ({', '.join(ALL_QUERIES)})")
    sets = list(items) if items and isinstance(items[0], tuple) else [("", list(items))]
    runs = []
    for name, sep in separators:
        for set_name, set_items in sets:
            run_name = f"{name}@{set_name}" if set_name else name
            cb = (lambda d, t, _n=run_name: progress(_n, d, t)) if progress is not None else None
            per_query = separate_items(sep, set_items, queries, cb)
            runs.append({"model": run_name, **summarize(per_query), "mixtures": per_query})
    all_items = [it for _, set_items in sets for it in set_items]
    report: dict[str, Any] = {
        "n_mixtures": len(all_items),
        "mixture_sets": [n for n, _ in sets if n],
        "queries": list(queries),
        "runs": runs,
        "aggregate": aggregate_runs(runs),
        "baseline_si_sdri": 0.0,
    }
    if irm:
        rows = irm_scores(all_items)
        cat_rows: dict[str, list[dict[str, float]]] = {}
        for it, r in zip(all_items, rows, strict=True):
            cat_rows.setdefault(it.category, []).append(r)
        report["irm"] = {"overall": _means(rows), "per_category": {c: _means(v) for c, v in sorted(cat_rows.items())}}
    report["input_si_sdr"] = float(np.mean([si_sdr_np(it.mixture, it.target) for it in all_items]))
    return report


def gate_value(report: dict[str, Any]) -> float:
    """The number ``--min-si-sdri`` compares with: the lowest, over query kinds, of the mean target SI-SDRi
    (diagnostic kinds such as ``other-text`` left out)."""
    vals = [
        v["target_si_sdri"]["mean"]
        for q, v in report["aggregate"]["overall"].items()
        if q not in DIAGNOSTIC_QUERIES and v["target_si_sdri"]["runs"]
    ]
    return float(min(vals)) if vals else float("nan")


def generate_manifest(corpus_root: str | Path | None, split: str, n: int, seed: int, out_dir: Path) -> Path:
    """Write an evaluation set of ``n`` mixtures from a corpus split (``sfcli.data.mixing.write_eval_set``)."""
    try:
        from sfcli.data.corpus import Corpus
        from sfcli.data.mixing import write_eval_set
    except ImportError as exc:
        raise SfcliError(f"the corpus modules are not available ({exc})") from exc
    corpus = Corpus.open(corpus_root) if corpus_root is not None else Corpus.open()
    result = write_eval_set(corpus, split, n, seed, out_dir)
    if result is not None and Path(str(result)).is_file():
        return Path(str(result))
    found = sorted(Path(out_dir).glob("*.jsonl"))
    if not found:
        raise SfcliError(f"write_eval_set wrote no manifest into {out_dir}")
    return found[0]


def generated_mixtures(
    corpus_root: str | Path | None, split: str, n: int, seed: int, limit: int | None = None
) -> list[EvalMixture]:
    """``n`` mixtures of a corpus split (:func:`generate_manifest`) read into memory; their files are
    written to a temporary folder that is removed before returning."""
    with tempfile.TemporaryDirectory(prefix=f"sfcli-eval-{split}-") as tmp:
        return read_manifest(generate_manifest(corpus_root, split, n, seed, Path(tmp)), limit)


__all__ = [
    "ABSENT_METRICS",
    "ABSENT_QUERIES",
    "ALL_QUERIES",
    "DIAGNOSTIC_QUERIES",
    "METRICS",
    "QUERIES",
    "SILENT_PEAK",
    "EvalMixture",
    "aggregate_runs",
    "check_audible",
    "evaluate",
    "gate_value",
    "generate_manifest",
    "generated_mixtures",
    "irm_scores",
    "kept_db",
    "metrics_of",
    "other_texts",
    "read_manifest",
    "score_mixture",
    "separate_items",
    "silent_sources",
    "summarize",
]
