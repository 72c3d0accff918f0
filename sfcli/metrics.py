"""Separation metrics in numpy: SI-SDR, SI-SDR improvement and the oracle ideal-ratio-mask bound.

* :func:`si_sdr_np` – scale-invariant SDR in dB (Le Roux et al., "SDR – half-baked or well done?", 2019).
* :func:`sdr_np` – plain (not scale-invariant) SDR in dB, as AudioSep and most text-queried separation
  papers report it.
* :func:`si_sdri_np` – SI-SDR of an estimate minus SI-SDR of the unprocessed mixture, both against the
  same reference: 0 dB is "no separation".
* :func:`ideal_ratio_mask_separation` – the oracle that knows both sources: an STFT magnitude-ratio mask
  ``|S| / (|S| + |N|)`` applied to the mixture and inverted with the mixture's phase. Its SI-SDRi is the
  usual reference bound for mask-based separators at that STFT resolution (the STFT is
  :func:`sfcli.dsp.centred_stft`).
"""

from __future__ import annotations

import numpy as np

from sfcli.dsp import centred_istft, centred_stft

EPS = 1e-8


def _as_1d(x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (mono), got shape {a.shape}")
    return a


def si_sdr_np(estimate: np.ndarray, reference: np.ndarray, eps: float = EPS) -> float:
    """Scale-invariant SDR in dB of a mono ``estimate`` against ``reference`` (same length)."""
    est, ref = _as_1d(estimate, "estimate"), _as_1d(reference, "reference")
    if est.shape != ref.shape:
        raise ValueError(f"length mismatch: {est.shape[0]} vs {ref.shape[0]}")
    est = est - est.mean()
    ref = ref - ref.mean()
    alpha = float(est @ ref) / (float(ref @ ref) + eps)
    target = alpha * ref
    noise = est - target
    return float(10 * np.log10((float(target @ target) + eps) / (float(noise @ noise) + eps)))


def sdr_np(estimate: np.ndarray, reference: np.ndarray, eps: float = EPS) -> float:
    """Plain SDR in dB, ``10 log10(|s|^2 / |s - s_hat|^2)``, with no rescaling of the estimate.

    This is the "SDR" most text-queried separation papers print (AudioSep, LASS-Net); unlike SI-SDR it
    also penalises a wrong output level.
    """
    est, ref = _as_1d(estimate, "estimate"), _as_1d(reference, "reference")
    if est.shape != ref.shape:
        raise ValueError(f"length mismatch: {est.shape[0]} vs {ref.shape[0]}")
    err = ref - est
    return float(10 * np.log10((float(ref @ ref) + eps) / (float(err @ err) + eps)))


def si_sdri_np(estimate: np.ndarray, reference: np.ndarray, mixture: np.ndarray, eps: float = EPS) -> float:
    """SI-SDR improvement in dB: ``SI-SDR(estimate, ref) − SI-SDR(mixture, ref)``."""
    return si_sdr_np(estimate, reference, eps) - si_sdr_np(mixture, reference, eps)


def ideal_ratio_mask_separation(
    target: np.ndarray,
    background: np.ndarray,
    mixture: np.ndarray | None = None,
    *,
    n_fft: int = 1024,
    hop: int = 256,
    power: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Oracle separation of ``mixture`` (default ``target + background``) with the ideal ratio mask.

    ``mask = |T|^p / (|T|^p + |B|^p)`` per STFT bin (``p = power``, 1 = magnitude ratio), applied to
    the mixture's complex STFT; the residual uses ``1 − mask``. Returns ``(target_est, residual_est)``
    as float32 arrays of the input length.
    """
    t, b = _as_1d(target, "target"), _as_1d(background, "background")
    m = t + b if mixture is None else _as_1d(mixture, "mixture")
    if not (t.shape == b.shape == m.shape):
        raise ValueError("target, background and mixture must have the same length")
    n = m.shape[0]
    st, total = centred_stft(t, n_fft, hop)
    sb, _ = centred_stft(b, n_fft, hop)
    sm, _ = centred_stft(m, n_fft, hop)
    at, ab = np.abs(st) ** power, np.abs(sb) ** power
    mask = at / (at + ab + EPS)
    est_t = centred_istft(sm * mask, n_fft, hop, total, n)
    est_b = centred_istft(sm * (1.0 - mask), n_fft, hop, total, n)
    return est_t.astype(np.float32), est_b.astype(np.float32)


__all__ = ["ideal_ratio_mask_separation", "sdr_np", "si_sdr_np", "si_sdri_np"]
