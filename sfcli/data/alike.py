"""Which sounds sound alike: the neighbours that similar backgrounds are drawn from (issue 20).

* :func:`nearest_categories`: for described categories, from an embedding per category (the mean
  SoundWords audio-bank row of its clips);
* :func:`nearest_clips`: for label-free pool clips, which have no category, from the SoundWords audio
  embedding of each clip (``scripts/make_pool_embeddings.py``). A log-mel signature (mean and spread of
  each band) was tried first and dropped: its 10 nearest clips of other sources shared the clip's kind
  (speech / music / effect / ambience) 0.63 of the time on 4,000 pool clips, hardly above random neighbours (0.56),
  against 0.77 for SoundWords embeddings (0.84 for speech, 0.81 for music).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def nearest_categories(
    embeddings: dict[str, np.ndarray], allowed: dict[str, list[str]], k: int = 10
) -> dict[str, list[str]]:
    """For each category, the ``k`` categories of ``allowed[category]`` whose (mean) embeddings are
    nearest by cosine, most similar first; categories without an embedding are left out."""
    names = list(embeddings)
    mat = np.stack([np.asarray(embeddings[c], dtype=np.float64) for c in names])
    mat /= np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
    index = {c: j for j, c in enumerate(names)}
    out: dict[str, list[str]] = {}
    for c in names:
        cands = [b for b in allowed.get(c, []) if b in index and b != c]
        sims = mat[[index[b] for b in cands]] @ mat[index[c]] if cands else np.zeros(0)
        out[c] = [cands[j] for j in np.argsort(-sims, kind="stable")[:k]]
    return out


def nearest_clips(
    embeddings: np.ndarray, groups: Sequence[str], k: int, block: int = 1024, same_group: bool = False
) -> np.ndarray:
    """For each row of ``embeddings`` (unit rows), the indices of the ``k`` rows of *other* groups (with
    ``same_group``: of its own group, itself left out) with the highest cosine, most similar first; int32
    ``(len, k)``, -1 where fewer than ``k`` exist."""
    sig = np.asarray(embeddings, dtype=np.float32)
    codes = np.unique(np.asarray(groups), return_inverse=True)[1]
    n = len(sig)
    out = np.full((n, k), -1, dtype=np.int32)
    for a in range(0, n, block):
        sims = sig[a : a + block] @ sig.T
        if same_group:
            sims[codes[a : a + block, None] != codes[None, :]] = -np.inf
            sims[np.arange(len(sims)), np.arange(a, a + len(sims))] = -np.inf
        else:
            sims[codes[a : a + block, None] == codes[None, :]] = -np.inf
        kk = min(k, n)
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk] if kk < n else np.tile(np.arange(n), (len(sims), 1))
        for r in range(len(sims)):
            cand = top[r][np.argsort(-sims[r, top[r]], kind="stable")]
            cand = cand[np.isfinite(sims[r, cand])][:k]
            out[a + r, : len(cand)] = cand
    return out


__all__ = ["nearest_categories", "nearest_clips"]
