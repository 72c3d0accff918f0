"""Noisy conditioning vectors in training (``train-filter --query-noise S``).

Out of domain the query vector of a sound lies where training rarely put one: the reference is another
recording, in another room, through another microphone, and a text query goes through the audio bank to
sounds that are only near it. Each example's unit query ``q`` is replaced by ``unit(q + sigma * n)``,
``n`` standard normal per dimension and ``sigma`` drawn uniformly from ``[0, S]`` per example, so the
network learns to separate from queries spread around the clean one (on the 64-d SoundWords space the
mean cosine to the clean query is about 0.92 at ``S`` = 0.1 and 0.85 at 0.15, the smallest about 0.7 and
0.45). Validation
keeps the clean queries. A pure function of (seed, step, rank), so a resumed run draws the same noise.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def noisy_queries(cond: torch.Tensor, scale: float, seed: int, step: int, rank: int = 0) -> torch.Tensor:
    """``cond`` ``(batch, dim)`` with per-example Gaussian noise of standard deviation ``U(0, scale)``
    per dimension added, rows renormalised; ``cond`` itself when ``scale`` is 0."""
    if scale <= 0:
        return cond
    g = torch.Generator().manual_seed(int(np.random.SeedSequence((seed, 13, step, rank)).generate_state(1)[0]))
    sigma = torch.rand(cond.shape[0], 1, generator=g) * scale
    noise = torch.randn(cond.shape, generator=g) * sigma
    return F.normalize(cond.float() + noise, dim=-1).to(cond.dtype)
