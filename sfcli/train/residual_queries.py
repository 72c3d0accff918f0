"""Training with the second pass's query (``train-filter --residual-queries P``).

``sfcli separate --two-pass`` (:mod:`sfcli.two_pass`) asks the mixture a second time with the SoundWords
embedding of the first pass's *residual*: a query for "the other sound" that the network never saw in
training, where every audio query was a clean recording. Here a share ``P`` of each batch's examples
(never absent-target ones) is replaced by exactly that second pass: the current model separates the
mixture with the example's query (no gradient), the residual is embedded by SoundWords, and the example
becomes the mixture queried with that embedding, whose target is the example's *background* (and whose
residual is its target), as the second pass needs it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from sfcli.embedder import Embedder
from sfcli.filter_model import SoundFilter
from sfcli.train.examples import Batch


def residual_rows(seed: int, step: int, batch: Batch, share: float) -> np.ndarray:
    """Indices of the examples of step ``step`` that take a residual query (a pure function of its
    arguments; absent-target examples never do)."""
    rng = np.random.default_rng((seed, 11, int(step)))
    chosen = rng.random(batch.mixture.shape[0]) < share
    if batch.absent is not None:
        chosen &= ~batch.absent.numpy().astype(bool)
    return np.flatnonzero(chosen)


@torch.no_grad()
def residual_queries(
    model: SoundFilter, words: Embedder, batch: Batch, rows: np.ndarray, sample_rate: int, postfilter: bool
) -> Batch:
    """``batch`` with examples ``rows`` turned into second-pass examples (module docstring)."""
    if rows.size == 0:
        return batch
    idx = torch.as_tensor(rows)
    device = next(model.parameters()).device
    was = model.training
    model.eval()
    try:
        mix = batch.mixture[idx].to(device)
        target, _ = model.separate(mix, batch.cond[idx].to(device), postfilter=postfilter, project=True)
    finally:
        model.train(was)
    residual = (mix - target)[:, 0].cpu().numpy()
    emb = np.asarray(words.embed_audio(list(residual), sample_rate), dtype=np.float32)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    cond = batch.cond.clone()
    cond[idx] = torch.from_numpy(emb)
    new_target, new_background = batch.target.clone(), batch.background.clone()
    new_target[idx], new_background[idx] = batch.background[idx], batch.target[idx]
    return dataclasses.replace(batch, target=new_target, background=new_background, cond=cond)


__all__ = ["residual_queries", "residual_rows"]
