"""The audio tower of SoundWords: log-mel front end (:func:`sfcli.dsp.stft`, HTK mel filters from
:func:`sfcli.dsp.mel_filterbank`), the aiSFX-layout CNN (warm-started from aiSFX's checkpoint) and the tiny
test CNN, and time pooling of their feature maps."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from sfcli.dsp import mel_filterbank, power, stft
from sfcli.errors import ModelNotFoundError
from sfcli.words.config import AISFX_LOG_MAX, SoundWordsConfig


class LogMelFrontend(nn.Module):
    """Waveform ``(B, samples)`` → log-compressed mel power spectrogram ``(B, frames, n_mels)``.

    ``log10(1 + 10⁴·mel) / 9.458`` — the compression and scale aiSFX was trained with. The filters
    and window are non-persistent buffers: they are rebuilt from the config, never saved.
    """

    def __init__(self, config: SoundWordsConfig) -> None:
        super().__init__()
        self.n_fft = config.n_fft
        self.hop_length = config.hop_length
        fb = mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.f_min, config.f_max)
        self.register_buffer("filters", torch.from_numpy(fb), persistent=False)
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """Compute the spectrogram of a batch of equally long waveforms."""
        spec = stft(wave, self.n_fft, self.hop_length, self.window, pad_mode="constant")
        mel = torch.matmul(power(spec).transpose(1, 2), self.filters)  # (B, frames, n_mels)
        return torch.log10(1.0 + 1e4 * mel) / AISFX_LOG_MAX


class ConvBlock(nn.Module):
    """Two 3×3 conv → batch-norm → ReLU stages, then max pooling (parameter names match aiSFX)."""

    def __init__(self, c_in: int, c_out: int, pool: tuple[int, int]) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T, F)`` → ``(B, C', T/p, F/p)``."""
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        if self.pool != (1, 1):
            x = F.max_pool2d(x, self.pool)
        return x


class LogMelCNN(nn.Module):
    """Four conv blocks (``base``, 2·, 4·, 8· channels) over ``(B, frames, mels)``.

    Features: mean over frequency, then max over time → ``(B, 8·base)`` (``pool="max"``, aiSFX's
    pooling); ``"mean"`` averages over time instead and ``"meanmax"`` concatenates both
    (``(B, 16·base)``). With ``base=64`` the parameter layout equals aiSFX's embedding network, so its
    checkpoint loads into it.
    """

    def __init__(self, base: int = 64, pool: str = "max") -> None:
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"unknown audio_pool {pool!r} (one of {', '.join(POOLS)})")
        self.pool = pool
        self.conv_block1 = ConvBlock(1, base, (2, 2))
        self.conv_block2 = ConvBlock(base, 2 * base, (2, 2))
        self.conv_block3 = ConvBlock(2 * base, 4 * base, (2, 2))
        self.conv_block4 = ConvBlock(4 * base, 8 * base, (1, 1))
        self.out_dim = 8 * base * (2 if pool == "meanmax" else 1)

    def maps(self, spec: torch.Tensor) -> torch.Tensor:
        """``(B, frames, mels)`` → the last block's maps averaged over frequency, ``(B, 8·base, time)``."""
        x = spec.unsqueeze(1)
        for block in (self.conv_block1, self.conv_block2, self.conv_block3, self.conv_block4):
            x = block(x)
        return x.mean(dim=3)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """``(B, frames, mels)`` → ``(B, out_dim)``: :meth:`maps` pooled over time."""
        return pool_time(self.maps(spec), self.pool)


POOLS = ("max", "mean", "meanmax")


def pool_time(maps: torch.Tensor, pool: str) -> torch.Tensor:
    """Pool frequency-averaged CNN maps ``(B, C, T)`` over time: ``"max"``, ``"mean"`` or ``"meanmax"``."""
    if pool == "max":
        return maps.amax(dim=2)
    if pool == "mean":
        return maps.mean(dim=2)
    return torch.cat([maps.mean(dim=2), maps.amax(dim=2)], dim=1)


class TinyCNN(nn.Module):
    """A two-layer random CNN for tests: ``(B, frames, mels)`` → ``(B, 4·channels)``.

    Features: the time average of the second layer (``channels // 2`` maps), pooled into eight
    frequency bands.
    """

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, max(1, channels // 2), 3, padding=1, stride=2)
        self.out_dim = 8 * max(1, channels // 2)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """``(B, frames, mels)`` → ``(B, out_dim)``."""
        x = F.relu(self.conv1(spec.unsqueeze(1)))
        x = F.relu(self.conv2(x)).mean(dim=2)  # (B, C/2, mels/2)
        return F.adaptive_avg_pool1d(x, 8).flatten(1)


def aisfx_checkpoint_path() -> Path:
    """Where the installed ``aisfx`` wheel keeps its pretrained ``checkpoint.pth``."""
    import importlib.util

    spec = importlib.util.find_spec("aisfx")
    if spec is None or spec.origin is None:
        raise ModelNotFoundError("the aisfx package is not installed (pip install --no-deps aisfx)")
    path = Path(spec.origin).parent / "models" / "checkpoint.pth"
    if not path.is_file():
        raise ModelNotFoundError(f"aisfx checkpoint missing: {path}")
    return path


def load_aisfx_state(path: str | os.PathLike[str] | None = None) -> dict[str, torch.Tensor]:
    """Read aiSFX's checkpoint and return its embedding network's weights keyed for :class:`LogMelCNN`."""
    path = Path(path) if path is not None else aisfx_checkpoint_path()
    blob = torch.load(path, map_location="cpu", weights_only=False)
    state = blob[0] if isinstance(blob, (tuple, list)) else blob
    prefix = "embedding_net."
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
