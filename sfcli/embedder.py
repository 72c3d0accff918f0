"""The one query-embedder protocol: what sfcli needs of SoundWords (:class:`sfcli.words.SoundWords`).

The separator (:class:`sfcli.api.Separator`), the query check (:mod:`sfcli.query_check`) and the
SoundFilter trainer (:mod:`sfcli.train.conditioning`, :mod:`sfcli.train.filter_validation`) all take an
:class:`Embedder`. :class:`sfcli.words.SoundWords` has every member; a stand-in (tests, benchmarks) only
needs the members of the paths it is used on:

* queries (:meth:`sfcli.api.Separator.embed_query`): :meth:`~Embedder.text_query` for text (with
  ``expand=False`` it is :meth:`~Embedder.embed_text`), :meth:`~Embedder.embed_audio` for reference clips;
* the query check: ``config`` (``sample_rate``, ``window_samples``), :meth:`~Embedder.text_features` and
  :meth:`~Embedder.embed_audio`;
* training: :meth:`~Embedder.embed_text` and :meth:`~Embedder.embed_audio`, plus
  :meth:`~Embedder.audio_windows` / :meth:`~Embedder.embed_windows` where present (conditioning crops are
  then cut into windows in the data workers; the embeddings are the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch


class Embedder(Protocol):
    """Text and audio into one embedding space (:class:`sfcli.words.SoundWords` implements it)."""

    config: Any

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, dim)`` text embeddings."""
        ...

    def text_query(self, texts: Sequence[str], expand: bool = True) -> np.ndarray:
        """``(n, dim)`` conditioning vectors for text queries (through the audio bank when ``expand``)."""
        ...

    def embed_audio(self, clips: Sequence[np.ndarray], sample_rate: int) -> np.ndarray:
        """``(n, dim)`` audio embeddings of mono clips at ``sample_rate``."""
        ...

    def text_features(self, texts: Sequence[str]) -> torch.Tensor:
        """``(n, features)`` text-tower features before the projection into the shared space."""
        ...

    def audio_windows(self, clip: np.ndarray, sample_rate: int) -> np.ndarray:
        """A clip cut into the audio tower's analysis windows."""
        ...

    def embed_windows(self, wins: Sequence[np.ndarray]) -> np.ndarray:
        """``(n, dim)`` audio embeddings of clips already cut by :meth:`audio_windows`."""
        ...


__all__ = ["Embedder"]
