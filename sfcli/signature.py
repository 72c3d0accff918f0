"""Spectral signature of a query clip: a level-free summary of *how it sounds*, for SoundFilter's FiLM.

SoundWords' 64-d vector says *what* a clip is, in the space its 325 training categories span. Out of
that domain the network often cannot tell which of two new sounds the vector means (docs/results.md,
"Where out-of-domain separation fails"). A signature gives it a cue that holds for any sound: per mel
band, the clip's mean level relative to its other bands (spectral shape) and how much the band's
level moves over time (stationary hum vs clicks). A SoundFilter whose config has
``signature_dim = SIGNATURE_DIM`` is conditioned on ``[SoundWords vector, signature]``; text queries,
which have no audio, get a zero signature (:func:`conditioning`), as in training.

Computed with numpy at the model rate (16 kHz; other rates are resampled with soxr first): Hann STFT
of 512 samples, hop 256, :data:`BANDS` HTK mel bands 50 Hz – 8 kHz (:func:`sfcli.dsp.mel_filterbank`),
levels in dB. Frames more than :data:`ACTIVE_DB` below the loudest frame are left out (silence
says nothing about the sound), so a silent or empty clip gets the zero signature.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

from sfcli.audio import MODEL_SAMPLE_RATE, resample
from sfcli.dsp import frames, hann, mel_filterbank

BANDS = 32
SIGNATURE_DIM = 2 * BANDS
N_FFT = 512
HOP = 256
ACTIVE_DB = 40.0
FLOOR_DB = 80.0  # band levels below the clip's loudest band level minus this count as this
LIMIT = 4.0  # every value is clipped to [-LIMIT, LIMIT]
SHAPE_SCALE = 20.0  # dB: band level relative to the clip's mean band level, divided by this
SPREAD_SCALE = 10.0  # dB: standard deviation of a band's level over active frames, divided by this


@lru_cache(maxsize=4)
def _filters(sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    return hann(N_FFT).astype(np.float32), mel_filterbank(sample_rate, N_FFT, BANDS, 50.0, 8000.0)


def band_levels(audio: np.ndarray, sample_rate: int = MODEL_SAMPLE_RATE) -> np.ndarray:
    """Mel band levels in dB, ``(frames, BANDS)``, of a clip ``(n,)`` or ``(channels, n)`` (mixed to mono),
    resampled to the model rate; at least one frame (a short clip is zero-padded)."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.ndim != 1:
        raise ValueError(f"a signature needs audio of shape (n,) or (channels, n), not {x.shape}")
    if sample_rate != MODEL_SAMPLE_RATE and x.shape[0]:
        x = resample(x, sample_rate, MODEL_SAMPLE_RATE)
    if x.shape[0] < N_FFT:
        x = np.pad(x, (0, N_FFT - x.shape[0]))
    window, fb = _filters(MODEL_SAMPLE_RATE)
    count = 1 + (x.shape[0] - N_FFT) // HOP
    spec = np.abs(np.fft.rfft(frames(x, N_FFT, HOP, count) * window, axis=1)) ** 2
    return (10.0 * np.log10(spec.astype(np.float32) @ fb + 1e-10)).astype(np.float32)


def signature(audio: np.ndarray, sample_rate: int = MODEL_SAMPLE_RATE) -> np.ndarray:
    """The ``(SIGNATURE_DIM,)`` float32 signature of a clip: per band, mean level minus the mean over
    bands (÷ :data:`SHAPE_SCALE`), then per band, the level's standard deviation over time
    (÷ :data:`SPREAD_SCALE`), both over the active frames only, with levels floored :data:`FLOOR_DB`
    below the loudest and values clipped to ±:data:`LIMIT`; zeros for a silent clip. Invariant to the
    clip's gain."""
    levels = band_levels(audio, sample_rate)
    levels = np.maximum(levels, levels.max() - FLOOR_DB)
    energy = 10.0 * np.log10(np.mean(10.0 ** (levels / 10.0), axis=1))
    active = levels[energy >= energy.max() - ACTIVE_DB]
    if energy.max() <= -90.0 or active.shape[0] == 0:
        return np.zeros(SIGNATURE_DIM, dtype=np.float32)
    mean = active.mean(axis=0)
    shape = (mean - mean.mean()) / SHAPE_SCALE
    spread = active.std(axis=0) / SPREAD_SCALE
    return np.clip(np.concatenate([shape, spread]), -LIMIT, LIMIT).astype(np.float32)


def conditioning(embedding: np.ndarray, sig: np.ndarray | None, cond_dim: int, signature_dim: int) -> np.ndarray:
    """The vector a SoundFilter with ``cond_dim`` + ``signature_dim`` inputs is conditioned on: the
    SoundWords ``embedding`` followed by ``sig`` (zeros when ``sig`` is None, as for text queries). An
    ``embedding`` that already holds both parts, or a model without a signature, is returned as it is."""
    emb = np.asarray(embedding, dtype=np.float32).reshape(-1)
    if signature_dim == 0 or emb.shape[0] == cond_dim + signature_dim:
        return emb
    if emb.shape[0] != cond_dim:
        raise ValueError(f"a query vector of {emb.shape[0]} values does not fit a model that takes {cond_dim}")
    tail = np.zeros(signature_dim, np.float32) if sig is None else np.asarray(sig, np.float32).reshape(-1)
    if tail.shape[0] != signature_dim:
        raise ValueError(f"a signature of {tail.shape[0]} values does not fit a model that takes {signature_dim}")
    return np.concatenate([emb, tail])


def signature_linear(signature_dim: int, out_features: int) -> nn.Linear | None:
    """The zero-initialised matrix (no bias) through which a signature enters a FiLM layer; ``None``
    for a model without one."""
    if signature_dim <= 0:
        return None
    layer = nn.Linear(signature_dim, out_features, bias=False)
    nn.init.zeros_(layer.weight)
    return layer


def conditioned(proj: nn.Linear, sig: nn.Linear | None, cond: torch.Tensor) -> torch.Tensor:
    """``proj`` of the SoundWords part of ``cond`` ``(B, D)`` plus ``sig`` of its signature part, if any."""
    if sig is None:
        return proj(cond)
    split = cond.shape[1] - sig.in_features
    return proj(cond[:, :split]) + sig(cond[:, split:])


__all__ = ["BANDS", "SIGNATURE_DIM", "band_levels", "conditioned", "conditioning", "signature", "signature_linear"]
