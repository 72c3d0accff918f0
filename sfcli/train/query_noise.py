"""Noisy conditioning vectors in training (``train-filter --query-noise S``, ``--query-lean L``).

Out of domain the query vector of a sound lies where training rarely put one: the reference is another
recording, in another room, through another microphone, and a text query goes through the audio bank to
sounds that are only near it. Each example's unit query ``q`` is replaced by ``unit(q + sigma * n)``,
``n`` standard normal per dimension and ``sigma`` drawn uniformly from ``[0, S]`` per example, so the
network learns to separate from queries spread around the clean one (on the 64-d SoundWords space the
mean cosine to the clean query is about 0.92 at ``S`` = 0.1 and 0.85 at 0.15, the smallest about 0.7 and
0.45). Validation
keeps the clean queries. A pure function of (seed, step, rank), so a resumed run draws the same noise.

Isotropic noise mostly moves a 64-d query along directions no sound uses. Out of domain the query also
leans towards the *other* sound of the mixture: two Kitchen20 clips of different classes have a mean
SoundWords cosine of 0.31 (two corpus clips of different categories 0.02), so the query of one kitchen
sound is 0.57 from another take of it and 0.31 from the sound beside it. ``--query-lean L`` trains for
that: in a swapped pair (``--swap-pairs``: examples ``2k`` and ``2k + 1`` of a local batch are one mixture
asked for each of its two sounds) each query ``q`` becomes ``unit(q + lam * q_other)``, ``q_other`` the pair's
other query and ``lam`` drawn from ``U(0, L)`` per example. For ``L`` < 1 the query stays nearer its own
sound (at ``lam`` = 0.6 and orthogonal queries the cosines are 0.86 and 0.51), so the network must answer
by which sound the query is *nearer* to rather than by which one it points at alone.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _generator(seed: int, stream: int, step: int, rank: int) -> torch.Generator:
    """The torch generator of one perturbation ``stream`` at (seed, step, rank): resumed runs redraw the same."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence((seed, stream, step, rank)).generate_state(1)[0]))


def noisy_queries(cond: torch.Tensor, scale: float, seed: int, step: int, rank: int = 0) -> torch.Tensor:
    """``cond`` ``(batch, dim)`` with per-example Gaussian noise of standard deviation ``U(0, scale)``
    per dimension added, rows renormalised; ``cond`` itself when ``scale`` is 0."""
    if scale <= 0:
        return cond
    g = _generator(seed, 13, step, rank)
    sigma = torch.rand(cond.shape[0], 1, generator=g) * scale
    noise = torch.randn(cond.shape, generator=g) * sigma
    return F.normalize(cond.float() + noise, dim=-1).to(cond.dtype)


def leaning_queries(
    cond: torch.Tensor, mixture: torch.Tensor, scale: float, seed: int, step: int, rank: int = 0
) -> torch.Tensor:
    """``cond`` ``(batch, dim)`` with each query of a swapped pair (rows ``2k`` and ``2k + 1`` whose
    ``mixture`` rows are equal) moved towards the pair's other query by ``U(0, scale)`` of it, rows
    renormalised; other rows, and ``cond`` itself when ``scale`` is 0 or no pair is found, unchanged."""
    if scale <= 0:
        return cond
    n = cond.shape[0] - cond.shape[0] % 2
    flat = mixture.reshape(mixture.shape[0], -1)
    paired = torch.tensor([bool(torch.equal(flat[i], flat[i + 1])) for i in range(0, n, 2)], dtype=torch.bool)
    if not bool(paired.any()):
        return cond
    g = _generator(seed, 17, step, rank)
    lam = torch.rand(n, 1, generator=g) * scale
    q = cond[:n].float()
    other = q.view(-1, 2, q.shape[1]).flip(1).reshape(n, -1)
    rows = paired.repeat_interleave(2).nonzero().squeeze(1)
    out = cond.clone()
    out[rows] = F.normalize(q[rows] + lam[rows] * other[rows], dim=-1).to(cond.dtype)
    return out
