"""Spectrogram figure of a separation: mixture, target and residual, one panel each."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sfcli.audio import default_file_mode, load_audio, resample, to_mono
from sfcli.dsp import log_power_spectrogram

PLOT_RATE = 16000
MAX_PLOT_SECONDS = 600.0


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
        specs.append((name, log_power_spectrogram(resample(mono, sr, PLOT_RATE)), mono.shape[0] / sr))
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
