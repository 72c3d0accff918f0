"""Honest queries: what a text query matched, and whether the queried sound seems to be there.

Two checks, both cheap next to the separation itself (issue 18):

* **Match report** (text queries). The query's text-backbone features (SoundWords' frozen sentence
  encoder, all-MiniLM-L6-v2, before the trained head) are compared by cosine with those of the names
  and training descriptions of every category SoundWords was trained on; a category scores the
  similarity of its closest text. The best ``top`` categories are reported, and below
  ``match_threshold`` a warning says that the query matches no sound sfcli knows well. The backbone
  space told paraphrases of trained categories from absent categories, nonsense and other languages
  better than the 64-d shared space or the audio bank (docs/query-check.md).
* **Presence estimate** (every query, text or reference). The separated target is embedded by the
  SoundWords audio tower window by window and compared by cosine with the query's conditioning
  vector (what SoundFilter was given: the expanded text query or the reference's embedding); the
  estimate is the best window's cosine. When the queried sound is absent, SoundFilter returns some
  other sound, which lies farther from the query. This score ("target") told present from absent
  better on validation mixtures than subtracting the mixture's or the residual's cosine, or the
  target's energy share (docs/query-check.md). Below ``presence_threshold`` a warning says the sound
  may not be in the recording. Long inputs are sampled (:class:`PresenceSampler`): at most
  ``MAX_PRESENCE_WINDOWS`` evenly spread windows are embedded, so the cost is bounded whatever the
  length.

The categories, thresholds and how they were chosen live in ``query_check.json`` beside the
SoundWords weights (written by ``benchmarks/query_check.py``). A model folder without that file has
no checks: no matches, no presence, no warnings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sfcli.embedder import Embedder
from sfcli.errors import ModelNotFoundError
from sfcli.pretrained import atomic_write_bytes

QUERY_CHECK_FILE = "query_check.json"
MAX_PRESENCE_WINDOWS = 16
# Per window: cos(target, query); minus cos(mixture, query); minus cos(residual, query).
PRESENCE_SCORES = ("target", "target-mixture", "target-residual")
Match = tuple[str, float]


CheckableWords = Embedder
"""The checks' embedder (``config``, ``text_features``, ``embed_audio``): :class:`sfcli.embedder.Embedder`,
under its former name."""


@dataclass
class QueryReport:
    """What the checks found for one query (and, for ``presence``, one recording)."""

    matches: list[Match] = field(default_factory=list)
    presence: float | None = None
    warnings: list[str] = field(default_factory=list)


def _mono(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x.mean(axis=0) if x.ndim == 2 else x


def window_samples(words: Embedder, sample_rate: int) -> int:
    """Samples at ``sample_rate`` that make (just under) one SoundWords analysis window."""
    cfg = words.config
    return max(1, int(cfg.window_samples * sample_rate / cfg.sample_rate) - 2)


class PresenceSampler:
    """Keeps at most ``max_windows`` evenly spread windows of a streamed target and mixture.

    Feed aligned ``(channels, n)`` blocks with :meth:`add`; the stream is cut into consecutive windows
    of ``window`` samples (mono). Every ``stride``-th window is kept; when more than ``max_windows``
    are kept, every other one is dropped and the stride doubles, so memory stays bounded and the kept
    windows stay evenly spread over the whole input. An input shorter than one window gives one
    (short) window.
    """

    def __init__(self, window: int, max_windows: int = MAX_PRESENCE_WINDOWS) -> None:
        if window < 1 or max_windows < 1:
            raise ValueError("window and max_windows must be positive")
        self.window = int(window)
        self.max_windows = int(max_windows)
        self.stride = 1
        self.count = 0
        self.kept: list[tuple[np.ndarray, np.ndarray]] = []
        self._buf_t: list[np.ndarray] = []
        self._buf_m: list[np.ndarray] = []
        self._buffered = 0

    def add(self, target: np.ndarray, mixture: np.ndarray) -> None:
        """Append an aligned block of the target and the mixture (``(channels, n)`` or ``(n,)``)."""
        t, m = _mono(target), _mono(mixture)
        self._buf_t.append(t)
        self._buf_m.append(m)
        self._buffered += t.shape[0]
        if self._buffered < self.window:
            return
        t_all, m_all = np.concatenate(self._buf_t), np.concatenate(self._buf_m)
        n_full = t_all.shape[0] // self.window
        for i in range(n_full):
            s = slice(i * self.window, (i + 1) * self.window)
            self._keep(t_all[s], m_all[s])
        rest = slice(n_full * self.window, None)
        self._buf_t, self._buf_m = [t_all[rest].copy()], [m_all[rest].copy()]
        self._buffered = self._buf_t[0].shape[0]

    def _keep(self, t: np.ndarray, m: np.ndarray) -> None:
        if self.count % self.stride == 0:
            self.kept.append((t.copy(), m.copy()))
            if len(self.kept) > self.max_windows:
                self.kept = self.kept[::2]
                self.stride *= 2
        self.count += 1

    def windows(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The kept ``(target, mixture)`` windows, plus the buffered tail when no full window was seen
        or, while every window is still kept, when the tail is at least half a window."""
        out = list(self.kept)
        long_tail = self.stride == 1 and 2 * self._buffered >= self.window and len(out) < self.max_windows
        if self._buffered and (not out or long_tail):
            out.append((np.concatenate(self._buf_t), np.concatenate(self._buf_m)))
        return out


def _peak(x: np.ndarray) -> float:
    return float(np.abs(x).max(initial=0.0))


def presence_scores(
    words: Embedder,
    query: np.ndarray,
    windows: Sequence[tuple[np.ndarray, np.ndarray]],
    sample_rate: int,
    score: str = "target",
) -> np.ndarray:
    """Per ``(target, mixture)`` window, a presence score in SoundWords space: ``(k,)``.

    ``score`` (one of :data:`PRESENCE_SCORES`): ``"target"`` = cos(target, query); ``"target-mixture"``
    subtracts cos(mixture, query) (how much the separation moved the sound towards the query);
    ``"target-residual"`` subtracts cos(mixture - target, query). Windows whose mixture is silent are
    left out (they say nothing about the query), so an all-silent input gives an empty array; a silent
    target or residual window (nothing to embed) counts as cosine -1.
    """
    if score not in PRESENCE_SCORES:
        raise ValueError(f"unknown presence score {score!r} (one of {', '.join(PRESENCE_SCORES)})")
    live = [(t, m) for t, m in windows if _peak(m) > 0.0]
    if not live:
        return np.zeros(0, dtype=np.float32)
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    q = q / max(float(np.linalg.norm(q)), 1e-12)
    clips = [t for t, _ in live]
    if score == "target-mixture":
        clips += [m for _, m in live]
    elif score == "target-residual":
        clips += [m - t for t, m in live]
    cos = words.embed_audio(clips, sample_rate) @ q
    cos = np.where([_peak(c) > 0.0 for c in clips], cos, -1.0)
    k = len(live)
    return (cos[:k] - cos[k:] if score != "target" else cos).astype(np.float32)


class QueryChecker:
    """The match report and the presence estimate for one SoundWords model.

    Args:
        words: the SoundWords model (its text backbone and audio tower are used).
        categories: category name -> the texts it was trained with (its name is added when missing).
        match_threshold: a text query whose best category scores below this gets a warning.
        presence_threshold: a presence estimate below this gets a warning.
        presence_score: which of :data:`PRESENCE_SCORES` the estimate uses.
        top: how many categories the match report lists.
        info: how the thresholds were chosen (kept in ``query_check.json``).
    """

    def __init__(
        self,
        words: Embedder,
        categories: dict[str, list[str]],
        match_threshold: float,
        presence_threshold: float,
        *,
        presence_score: str = "target",
        top: int = 3,
        info: dict[str, Any] | None = None,
    ) -> None:
        if not categories:
            raise ValueError("a query checker needs at least one category")
        self.words = words
        self.categories = {c: list(dict.fromkeys([c, *texts])) for c, texts in categories.items()}
        self.match_threshold = float(match_threshold)
        self.presence_threshold = float(presence_threshold)
        if presence_score not in PRESENCE_SCORES:
            raise ValueError(f"unknown presence score {presence_score!r}")
        self.presence_score = presence_score
        self.top = int(top)
        self.info = dict(info or {})
        self._names = list(self.categories)
        self._refs: torch.Tensor | None = None
        self._owner: torch.Tensor | None = None

    # ---- files ------------------------------------------------------------------------------------
    @classmethod
    def load(cls, folder: str | os.PathLike[str], words: Embedder) -> QueryChecker | None:
        """Read ``query_check.json`` from a SoundWords model folder; ``None`` when there is none."""
        path = Path(folder) / QUERY_CHECK_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            return cls(
                words,
                {str(k): [str(t) for t in v] for k, v in data["categories"].items()},
                float(data["match"]["threshold"]),
                float(data["presence"]["threshold"]),
                presence_score=str(data["presence"].get("score", "target")),
                top=int(data.get("top", 3)),
                info={k: v for k, v in data.items() if k != "categories"},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelNotFoundError(f"{path}: unreadable query-check file ({exc})") from exc

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``query_check.json`` (thresholds, how they were chosen, the categories) atomically."""
        data = {**self.info, "top": self.top, "categories": self.categories}
        data.setdefault("match", {})["threshold"] = self.match_threshold
        data.setdefault("presence", {}).update(threshold=self.presence_threshold, score=self.presence_score)
        path = Path(folder) / QUERY_CHECK_FILE
        atomic_write_bytes(path, (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode())
        return path

    # ---- text -------------------------------------------------------------------------------------
    def _references(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._refs is None or self._owner is None:
            texts = [t for c in self._names for t in self.categories[c]]
            owner = [i for i, c in enumerate(self._names) for _ in self.categories[c]]
            self._refs = F.normalize(self.words.text_features(texts).float(), dim=1)
            self._owner = torch.as_tensor(owner)
        return self._refs, self._owner

    def category_similarities(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, categories)``: per text, each category's best cosine with one of its texts."""
        refs, owner = self._references()
        feats = F.normalize(self.words.text_features([t.strip() for t in texts]).float(), dim=1)
        sims = feats @ refs.t()
        best = torch.full((len(texts), len(self._names)), -1.0)
        best.scatter_reduce_(1, owner.expand(len(texts), -1), sims, reduce="amax")
        return best.numpy()

    def matches(self, text: str) -> list[Match]:
        """The ``top`` categories nearest to ``text``, most similar first, with their similarity."""
        sims = self.category_similarities([text])[0]
        order = np.argsort(-sims, kind="stable")[: self.top]
        return [(self._names[i], round(float(sims[i]), 3)) for i in order]

    def match_warning(self, text: str, matches: Sequence[Match]) -> str | None:
        """The one-line warning for a query whose best match is below the threshold, else ``None``."""
        if not matches or matches[0][1] >= self.match_threshold:
            return None
        nearest = ", ".join(f"{c} ({s:.2f})" for c, s in matches)
        return f"'{text.strip()}' matches no sound sfcli knows well; nearest: {nearest}"

    def check_text(self, text: str) -> QueryReport:
        """The match report of a text query (``presence`` is left ``None``)."""
        found = self.matches(text)
        warning = self.match_warning(text, found)
        return QueryReport(found, None, [warning] if warning else [])

    # ---- audio ------------------------------------------------------------------------------------
    def sampler(self, sample_rate: int) -> PresenceSampler:
        """A :class:`PresenceSampler` cutting windows of one SoundWords window at ``sample_rate``."""
        return PresenceSampler(window_samples(self.words, sample_rate))

    def window_scores(
        self,
        query: np.ndarray,
        windows: Sequence[tuple[np.ndarray, np.ndarray]],
        sample_rate: int,
        score: str | None = None,
    ) -> np.ndarray:
        """:func:`presence_scores` of ``windows`` with this checker's score (or ``score``)."""
        return presence_scores(self.words, query, windows, sample_rate, score or self.presence_score)

    def presence_from(self, sampler: PresenceSampler, query: np.ndarray, sample_rate: int) -> float | None:
        """The presence estimate from a filled sampler: the best window's score (``None`` when the
        mixture was silent)."""
        scores = self.window_scores(query, sampler.windows(), sample_rate)
        return round(float(scores.max()), 4) if scores.size else None

    def presence(self, query: np.ndarray, target: np.ndarray, mixture: np.ndarray, sample_rate: int) -> float | None:
        """The presence estimate of an in-memory separation (arrays ``(n,)`` or ``(channels, n)``)."""
        sampler = self.sampler(sample_rate)
        sampler.add(target, mixture)
        return self.presence_from(sampler, query, sample_rate)

    def presence_warning(self, presence: float | None) -> str | None:
        """The one-line warning for a low presence estimate, else ``None``."""
        if presence is None or presence >= self.presence_threshold:
            return None
        return f"the described sound may not be in this recording (presence {presence:.2f})"


__all__ = [
    "MAX_PRESENCE_WINDOWS",
    "PRESENCE_SCORES",
    "QUERY_CHECK_FILE",
    "PresenceSampler",
    "QueryChecker",
    "QueryReport",
    "presence_scores",
    "window_samples",
]
