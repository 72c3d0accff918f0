"""Spectrogram figure of a separation: mixture, target and residual, one panel each."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from sfcli.audio import default_file_mode, load_audio, resample, to_mono

PLOT_RATE = 16000
MAX_PLOT_SECONDS = 600.0


def _log_spectrogram(x: np.ndarray, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    if x.shape[0] < n_fft:
        x = np.pad(x, (0, n_fft - x.shape[0]))
    frames = 1 + (x.shape[0] - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft).astype(np.float32), axis=1)) ** 2
    return 10.0 * np.log10(spec.T + 1e-10)


def plot_separation(
    mixture: str | os.PathLike[str],
    target: str | os.PathLike[str],
    residual: str | os.PathLike[str],
    out_png: str | os.PathLike[str],
    *,
    title: str = "",
) -> Path:
    """Write a three-panel spectrogram PNG (time in s, frequency in kHz, level in dB), atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    specs = []
    for name, path in (("mixture", mixture), ("target", target), ("residual", residual)):
        data, sr = load_audio(path)
        mono = to_mono(data)[: int(MAX_PLOT_SECONDS * sr)]
        specs.append((name, _log_spectrogram(resample(mono, sr, PLOT_RATE)), mono.shape[0] / sr))
    vmax = max(float(s.max()) for _, s, _ in specs)
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True, constrained_layout=True)
    for ax, (name, spec, dur) in zip(axes, specs, strict=True):
        im = ax.imshow(
            spec,
            origin="lower",
            aspect="auto",
            extent=(0.0, dur, 0.0, PLOT_RATE / 2000.0),
            vmin=vmax - 80.0,
            vmax=vmax,
            cmap="magma",
        )
        ax.set_ylabel("frequency (kHz)")
        ax.set_title(name)
    axes[-1].set_xlabel("time (s)")
    fig.colorbar(im, ax=axes, label="level (dB)")
    if title:
        fig.suptitle(title)
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_png.parent, prefix=".spectrogram.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=100, format="png")
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, out_png)
    finally:
        plt.close(fig)
        Path(tmp).unlink(missing_ok=True)
    return out_png
