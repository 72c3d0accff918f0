"""Short-time Fourier transforms and spectral helpers: the one DSP module of sfcli.

torch (differentiable; the spectral post-filter :mod:`sfcli.postfilter` and SoundWords' log-mel front end
:class:`sfcli.words.LogMelFrontend`):

* :func:`stft` / :func:`istft` – Hann-windowed, centred ``torch.stft`` / ``torch.istft``;
* :func:`power`, :func:`log_magnitude` – ``|X|²`` and ``log |X|`` of a complex spectrogram;
* :func:`mel_filterbank` – triangular HTK-scale mel filters of unit area.

numpy (float64 metrics :mod:`sfcli.metrics`, figures :mod:`sfcli.plot`):

* :func:`hann` – periodic or symmetric Hann window;
* :func:`frames` – a signal cut into overlapping frames;
* :func:`centred_stft` / :func:`centred_istft` – zero-padded centred STFT and its weighted overlap-add
  inverse (the oracle ideal-ratio mask);
* :func:`log_power_spectrogram` – a dB power spectrogram (spectrogram figures).
"""

from __future__ import annotations

import numpy as np
import torch

# ---- torch -----------------------------------------------------------------------------------------


def stft(x: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor, pad_mode: str = "reflect") -> torch.Tensor:
    """Complex STFT ``(..., n_fft // 2 + 1, frames)`` of ``x`` ``(..., n)``: centred frames (the signal padded
    by ``n_fft // 2`` on both sides with ``pad_mode``), ``window`` of length ``n_fft``."""
    return torch.stft(x, n_fft, hop, window=window, center=True, pad_mode=pad_mode, return_complex=True)


def istft(spec: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor, length: int) -> torch.Tensor:
    """Inverse of :func:`stft`: ``(..., length)`` waveforms (weighted overlap-add)."""
    return torch.istft(spec, n_fft, hop, window=window, length=length)


def power(spec: torch.Tensor) -> torch.Tensor:
    """``|spec|²`` of a complex spectrogram (real tensor of the same shape)."""
    return spec.real.square() + spec.imag.square()


def log_magnitude(spec: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``log |spec|`` as ``0.5 · log(|spec|² + eps)``: its gradient stays finite at zero."""
    return 0.5 * torch.log(power(spec) + eps)


def hz_to_mel_htk(hz: np.ndarray) -> np.ndarray:
    """Hz to mel on the HTK scale."""
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def mel_to_hz_htk(mel: np.ndarray) -> np.ndarray:
    """Mel on the HTK scale to Hz."""
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """Triangular HTK-scale mel filters, each scaled to unit area (sum 1): ``(n_fft // 2 + 1, n_mels)``."""
    f_max = min(f_max, sample_rate / 2)
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz_htk(np.linspace(hz_to_mel_htk(np.array(f_min)), hz_to_mel_htk(np.array(f_max)), n_mels + 2))
    fb = np.zeros((n_fft // 2 + 1, n_mels), dtype=np.float64)
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        rising = (bins - lo) / max(mid - lo, 1e-9)
        falling = (hi - bins) / max(hi - mid, 1e-9)
        fb[:, m] = np.clip(np.minimum(rising, falling), 0.0, None)
    sums = fb.sum(axis=0, keepdims=True)
    fb = fb / np.where(sums > 0, sums, 1.0)
    return fb.astype(np.float32)


# ---- numpy -----------------------------------------------------------------------------------------


def hann(n: int, periodic: bool = True) -> np.ndarray:
    """Hann window of ``n`` points (float64): periodic (for STFTs, as ``torch.hann_window``) or symmetric
    (``np.hanning``)."""
    return np.hanning(n + 1)[:-1] if periodic else np.hanning(n)


def frames(x: np.ndarray, n_fft: int, hop: int, count: int) -> np.ndarray:
    """``count`` frames of ``n_fft`` samples of ``x``, one every ``hop``: ``(count, n_fft)`` (a copy)."""
    idx = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
    return x[idx]


def centred_stft(x: np.ndarray, n_fft: int, hop: int) -> tuple[np.ndarray, int]:
    """Periodic-Hann STFT of ``x`` zero-padded by ``n_fft // 2`` in front and to whole frames after:
    ``(frames, n_fft // 2 + 1)`` and the padded length (for :func:`centred_istft`)."""
    n = x.shape[0]
    count = max(1, int(np.ceil((n + n_fft) / hop)))
    total = (count - 1) * hop + n_fft
    padded = np.zeros(total)
    padded[n_fft // 2 : n_fft // 2 + n] = x
    return np.fft.rfft(frames(padded, n_fft, hop, count) * hann(n_fft), axis=1), total


def centred_istft(spec: np.ndarray, n_fft: int, hop: int, total: int, n: int) -> np.ndarray:
    """Weighted overlap-add inverse of :func:`centred_stft`, cut back to ``n`` samples."""
    win = hann(n_fft)
    frames_ = np.fft.irfft(spec, n=n_fft, axis=1) * win
    out = np.zeros(total)
    norm = np.zeros(total)
    for i in range(frames_.shape[0]):
        out[i * hop : i * hop + n_fft] += frames_[i]
        norm[i * hop : i * hop + n_fft] += win**2
    out /= np.maximum(norm, 1e-8)
    return out[n_fft // 2 : n_fft // 2 + n]


def log_power_spectrogram(x: np.ndarray, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """``10 log10(|X|² + 1e-10)`` of ``x`` (zero-padded to one frame if shorter), uncentred frames and a
    symmetric float32 Hann window: ``(n_fft // 2 + 1, frames)``."""
    if x.shape[0] < n_fft:
        x = np.pad(x, (0, n_fft - x.shape[0]))
    count = 1 + (x.shape[0] - n_fft) // hop
    window = hann(n_fft, periodic=False).astype(np.float32)
    spec = np.abs(np.fft.rfft(frames(x, n_fft, hop, count) * window, axis=1)) ** 2
    return 10.0 * np.log10(spec.T + 1e-10)


__all__ = [
    "centred_istft",
    "centred_stft",
    "frames",
    "hann",
    "hz_to_mel_htk",
    "istft",
    "log_magnitude",
    "log_power_spectrogram",
    "mel_filterbank",
    "mel_to_hz_htk",
    "power",
    "stft",
]
