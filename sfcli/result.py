"""What a separation returns (:class:`SeparationResult`) and the small helpers on queries that the API,
the CLI and the evaluation share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class SeparationResult:
    """Separated audio: ``target`` is the described sound, ``residual`` everything else.

    Both are float32 with the mixture's shape and sample rate; ``target + residual == mixture``.
    The query check (:mod:`sfcli.query_check`, when the model folder has one): ``matches`` are the
    trained categories nearest to a text query with their similarity (empty for a reference);
    ``presence`` estimates whether the queried sound is in the mixture (higher: more likely; ``None``
    when not checked); ``warnings`` are one-line messages (no good match, sound maybe absent).
    """

    target: np.ndarray
    residual: np.ndarray
    sample_rate: int
    query: str
    matches: list[tuple[str, float]] = field(default_factory=list)
    presence: float | None = None
    warnings: list[str] = field(default_factory=list)


def mean_embedding(embeddings: Sequence[np.ndarray]) -> np.ndarray:
    """One query from several (e.g. several reference clips): their mean, renormalised to unit length
    like the audio bank's mean of neighbours (:class:`sfcli.words.AudioBank`)."""
    stacked = np.stack([np.asarray(e, dtype=np.float32) for e in embeddings])
    mean = stacked.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm > 0 else mean).astype(np.float32)


def describe_query(text: str | None, reference_name: str | None) -> str:
    """A short human-readable label for a query (used in logs and JSON output)."""
    return f"text:{text}" if text is not None else f"ref:{reference_name or 'clip'}"


__all__ = ["SeparationResult", "describe_query", "mean_embedding"]
