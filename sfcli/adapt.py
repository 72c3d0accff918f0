"""Adaptation to the reference clip: a few training steps on the user's example before separating.

An audio query is a recording of the wanted sound. Out of domain, SoundFilter may never have heard a
sound like it and hand back the wrong part of the mixture. :func:`adapt_filter` fine-tunes a copy of
the filter for a few steps on mixtures made from what the user gave: 2 s crops of the reference
clip(s) as the target, mixed at −5 … +5 dB over drawn backgrounds (:mod:`sfcli.data.procedural`:
impacts, noise textures, motors, bubbles, crackle, scrapes, tones; no audio files needed), conditioned
on the query vector and scored with the training loss (:func:`sfcli.losses.separation_loss`). The
mixture itself is never used: where the network's first guess holds the wanted sound in its residual,
training on that residual would teach it to leave the sound out (measured: up to −20 dB on such
mixtures; ``experiments/reference_adaptation.py``).

Deterministic for a seed; the original filter is left untouched. The cost is per query, not per
file: adapt once, then separate any number of recordings at the usual speed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from sfcli.audio import resample
from sfcli.data.mixing import rms
from sfcli.data.procedural import procedural_sound
from sfcli.filter_model import SoundFilter
from sfcli.losses import separation_loss


@dataclass(frozen=True)
class AdaptOptions:
    """How :func:`adapt_filter` trains: ``steps`` Adam steps at ``lr`` on ``batch`` mixtures of
    ``crop_seconds``, the reference ``snr_db`` dB above or below its background, drawn from ``seed``."""

    steps: int = 10
    lr: float = 1e-4
    batch: int = 8
    crop_seconds: float = 2.0
    snr_db: float = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 0 or self.batch < 1 or self.lr <= 0 or self.crop_seconds <= 0:
            raise ValueError("adaptation needs steps >= 0, batch >= 1, lr > 0 and crop_seconds > 0")


def crop(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``n``-sample stretch of ``x``, looped first when it is shorter."""
    if x.shape[0] < n:
        x = np.resize(x, n + x.shape[0])
    start = int(rng.integers(0, x.shape[0] - n + 1))
    return x[start : start + n]


def reference_batch(
    references: Sequence[np.ndarray],
    rng: np.random.Generator,
    options: AdaptOptions,
    sample_rate: int,
    background: Callable[[np.random.Generator, int], np.ndarray] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(mixture, target, background)``, each ``(batch, 1, n)``: a crop of a random reference (mono,
    at ``sample_rate``) over a background at a random level; mixture == target + background.

    ``background(rng, n)`` gives ``n`` samples of background; default: a procedural sound."""
    n = round(options.crop_seconds * sample_rate)
    targets, backgrounds = [], []
    for _ in range(options.batch):
        t = crop(references[int(rng.integers(len(references)))], n, rng)
        b = procedural_sound(rng, n, sample_rate)[0] if background is None else background(rng, n)
        b = b * ((rms(t) + 1e-8) / (rms(b) + 1e-8)) * 10 ** (-rng.uniform(-options.snr_db, options.snr_db) / 20)
        gain = 10 ** (rng.uniform(-10, 0) / 20) / max(float(np.max(np.abs(t + b))), 1e-6)
        targets.append(t * gain)
        backgrounds.append(b * gain)
    target = torch.tensor(np.stack(targets), dtype=torch.float32).unsqueeze(1)
    background = torch.tensor(np.stack(backgrounds), dtype=torch.float32).unsqueeze(1)
    return target + background, target, background


def train_steps(
    model: SoundFilter,
    optimizer: torch.optim.Optimizer,
    clips: Sequence[np.ndarray],
    embedding: np.ndarray | torch.Tensor,
    rng: np.random.Generator,
    options: AdaptOptions,
    steps: int,
    background: Callable[[np.random.Generator, int], np.ndarray] | None = None,
) -> None:
    """``steps`` training steps of ``model`` in place on :func:`reference_batch` mixtures of ``clips``
    (mono, at the model's rate) for the query ``embedding``, with ``optimizer``; leaves it in train mode.
    ``embedding`` may be a tensor that ``optimizer`` trains (``experiments/reference_adaptation.py
    --params embedding``: the query refined, the network frozen)."""
    device = next(model.parameters()).device
    if not isinstance(embedding, torch.Tensor):  # a tensor may be what the optimizer trains
        embedding = torch.as_tensor(np.asarray(embedding, dtype=np.float32))
    cond = embedding.to(device).reshape(1, -1).expand(options.batch, -1)
    cfg = model.config
    # the exact projection makes the consistency term constant (sfcli.losses.separation_loss)
    loss_kw = {"residual_output": cfg.residual_output, "consistency_loss": cfg.consistency != "projection"}
    rate = int(cfg.sample_rate)
    model.train()
    with torch.inference_mode(False), torch.enable_grad():
        for _ in range(steps):
            batch = reference_batch(clips, rng, options, rate, background)
            mix, target, noise = (x.to(device) for x in batch)
            est_t, est_r = model(mix, cond, postfilter=True)
            loss = separation_loss(est_t, est_r, target, noise, mix, **loss_kw).total
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def adapt_filter(
    model: SoundFilter,
    references: Sequence[tuple[np.ndarray, int]],
    embedding: np.ndarray,
    options: AdaptOptions | None = None,
) -> SoundFilter:
    """A copy of ``model`` fine-tuned on ``references`` (``(mono clip, sample rate)`` pairs) with the
    query vector ``embedding``; in eval mode, fp32, on ``model``'s device. ``model`` is not changed."""
    options = options or AdaptOptions()
    if not references:
        raise ValueError("adaptation needs at least one reference clip")
    rate = int(model.config.sample_rate)
    clips = [resample(np.asarray(c, dtype=np.float32).reshape(-1), int(sr), rate) for c, sr in references]
    adapted = copy.deepcopy(model).float()
    optimizer = torch.optim.Adam(adapted.parameters(), lr=options.lr)
    rng = np.random.default_rng([options.seed, 31])
    train_steps(adapted, optimizer, clips, embedding, rng, options, options.steps)
    return adapted.eval()


__all__ = ["AdaptOptions", "adapt_filter", "crop", "reference_batch", "train_steps"]
