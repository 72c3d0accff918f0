"""Two-pass separation: ask the mixture a second time for everything the first pass left.

Out of the training domain SoundFilter often splits a mixture along its two sounds but hands back
the wrong one as the target (docs/results.md, "Two-pass separation"). The second pass is conditioned
on the SoundWords embedding of the first pass's *residual*, a query for "the other sound", and the
target becomes a weighted mean of the first target and the second residual (:data:`FIRST_WEIGHT`):

- where the network followed both queries, the two agree and the mean changes little;
- where it returned the same sound whatever the query, they disagree and the mean hedges between
  them instead of confidently returning the wrong sound.

The second query only needs the residual's *sound*, so a long input is summarised by
:data:`MAX_WINDOWS` evenly spread 2 s segments (:func:`segments`), each separated on its own (all
in one batch); an input of at most that many windows is used whole. The cost is two separations of
the whole input plus one of at most 32 s and the SoundWords embedding of that residual (measured:
between two and three times a plain separation on 60 s, docs/results.md). When the input is used
whole, its first pass is kept per window (a cache keyed by the window's samples, :func:`window_fn`)
and reused, so a short input costs two separations, not three. Both passes run inside each
model-rate window, as one batch (:meth:`sfcli.api.Separator.window_fn`), so the target stays
band-limited to the model's rate as in a plain separation, and streamed files and in-memory arrays
give the same result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch

from sfcli.embedder import Embedder
from sfcli.streaming import WindowFn

MAX_WINDOWS = 16
WINDOW_SECONDS = 2.0
# 0.6 was chosen on Kitchen20 seeds 0 / 1 and 200 validation mixtures: 0.5 gave the same out-of-domain
# means for 0.2 dB more in-domain cost, 0.7 less out-of-domain gain (docs/notebook/realworld-ablation.md).
FIRST_WEIGHT = 0.6


def segment_starts(frames: int, sample_rate: int) -> tuple[list[int], int]:
    """``(starts, length)`` of the segments the second query is taken from: the whole input when it
    holds at most :data:`MAX_WINDOWS` windows, else that many evenly spread windows (first and last
    included)."""
    win = max(1, round(WINDOW_SECONDS * sample_rate))
    if frames <= MAX_WINDOWS * win:
        return [0], frames
    return [round(i * (frames - win) / (MAX_WINDOWS - 1)) for i in range(MAX_WINDOWS)], win


def segments(blocks: Iterable[np.ndarray], frames: int, sample_rate: int) -> list[np.ndarray]:
    """The :func:`segment_starts` segments ``(channels, length)`` of an input streamed as ``(channels, n)``
    blocks (``frames`` in all); only the segments are kept in memory."""
    starts, length = segment_starts(frames, sample_rate)
    parts: list[list[np.ndarray]] = [[] for _ in starts]
    pos = 0
    for block in blocks:
        end = pos + block.shape[-1]
        for part, s in zip(parts, starts, strict=True):
            lo, hi = max(s, pos), min(s + length, end)
            if lo < hi:
                part.append(block[:, lo - pos : hi - pos])
        pos = end
    return [np.concatenate(p, axis=1) for p in parts if p]


def other_query(words: Embedder, residuals: Sequence[np.ndarray], sample_rate: int) -> np.ndarray:
    """The unit SoundWords embedding of the first pass's residual segments ``(channels, n)``, mixed to
    mono and joined into one clip."""
    mono = [np.asarray(r, dtype=np.float32).reshape(-1, r.shape[-1]).mean(axis=0) for r in residuals]
    clip = np.concatenate(mono) if mono else np.zeros(round(WINDOW_SECONDS * sample_rate), dtype=np.float32)
    emb = np.asarray(words.embed_audio([clip], sample_rate)[0], dtype=np.float32)
    return emb / max(float(np.linalg.norm(emb)), 1e-12)


def combine(first_target: np.ndarray, mixture: np.ndarray, second_target: np.ndarray) -> np.ndarray:
    """The two-pass target of one window: the weighted mean of the first target and the second pass's
    residual (``mixture - second_target``); works on numpy arrays and torch tensors alike."""
    return FIRST_WEIGHT * first_target + (1 - FIRST_WEIGHT) * (mixture - second_target)


def row_keys(window: np.ndarray) -> list[bytes]:
    """A digest of each row's samples (float32): where :func:`window_fn` keeps a row's first-pass target."""
    rows = np.ascontiguousarray(window, dtype=np.float32)
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in rows]


def window_fn(
    targets: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    embedding: np.ndarray,
    other: np.ndarray | None = None,
    cache: dict[bytes, np.ndarray] | None = None,
    device: str | torch.device = "cpu",
) -> WindowFn:
    """The window function of a separation: ``targets(x, cond)`` (one row of ``cond`` per row of the
    model-rate window ``x``) conditioned on ``embedding``.

    With ``other`` (the second pass) the window is also separated for ``other`` and the target is
    :func:`combine` of the first target and that residual; both passes run as one batch of 2 x rows
    (about 20 % less time on a CPU than two calls). ``cache`` (an input short enough to be its own
    segment, whose first pass :func:`other_query` has just run over the same windows): without
    ``other``, each row's target is kept under :func:`row_keys`; with ``other``, a window whose rows are
    all kept is separated for ``other`` only (one forward pass fewer; the same up to float rounding).
    """
    cond = torch.as_tensor(np.asarray(embedding, dtype=np.float32), device=device).reshape(1, -1)
    cond2 = None if other is None else torch.as_tensor(np.asarray(other, dtype=np.float32), device=device)

    def run(window: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(window, dtype=np.float32)).to(device)
        c = x.shape[0]
        keys = None if cache is None else row_keys(window)
        if cond2 is None:
            target = targets(x, cond.expand(c, -1)).cpu().numpy()
            if cache is not None and keys is not None:
                cache.update(zip(keys, target, strict=True))
            return target
        second = cond2.reshape(1, -1).expand(c, -1)
        if cache is not None and keys is not None and all(k in cache for k in keys):
            first = torch.from_numpy(np.stack([cache[k] for k in keys])).to(device)
            return combine(first, x, targets(x, second)).cpu().numpy()
        both = targets(torch.cat([x, x]), torch.cat([cond.expand(c, -1), second]))
        return combine(both[:c], x, both[c:]).cpu().numpy()

    return run


__all__ = [
    "FIRST_WEIGHT",
    "MAX_WINDOWS",
    "WINDOW_SECONDS",
    "combine",
    "other_query",
    "row_keys",
    "segment_starts",
    "segments",
    "window_fn",
]
