"""Shared fixtures: tiny randomly initialised models and short audio written on the fly."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(2)


def _write_tiny_models(folder: Path, **config) -> Path:
    """Save a tiny random SoundFilter (``SoundFilterConfig.tiny(**config)``) and a tiny SoundWords in ``folder``."""
    from sfcli.filter_model import SoundFilter, SoundFilterConfig
    from sfcli.words import SoundWords

    torch.manual_seed(0)
    filt = SoundFilter(SoundFilterConfig.tiny(**config))
    # Random FiLM weights, so that the query changes the output (FiLM starts as the identity), and a
    # random last layer for a mask refiner (it starts at zero, i.e. as the fixed post-filter).
    with torch.no_grad():
        for name, p in filt.named_parameters():
            if "film" in name or name.startswith("refiner.out"):
                p.normal_(0, 0.1)
    filt.save_pretrained(folder / "soundfilter", half=False)
    SoundWords.tiny(seed=0).save_pretrained(folder / "soundwords", half=False)
    return folder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding a tiny random SoundFilter and a tiny SoundWords (no pretrained towers)."""
    return _write_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture()
def make_tiny_models():
    """``make_tiny_models(folder, **config)``: a models folder like ``tiny_models`` with config overrides."""
    return _write_tiny_models


@pytest.fixture()
def write_wav(tmp_path: Path):
    """Write a test signal: ``write_wav(name, seconds, sr, channels, kind)`` → path."""

    def _write(
        name: str = "mix.wav",
        seconds: float = 1.0,
        sr: int = 16000,
        channels: int = 1,
        kind: str = "noise",
        subtype: str | None = None,
        seed: int = 0,
    ) -> Path:
        rng = np.random.default_rng(seed)
        n = max(1, round(seconds * sr))
        t = np.arange(n) / sr
        if kind == "noise":
            x = 0.1 * rng.standard_normal((n, channels))
        elif kind == "tone":
            x = np.stack([0.3 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)], axis=1)
        elif kind == "silence":
            x = np.zeros((n, channels))
        elif kind == "clipped":
            x = np.clip(3.0 * rng.standard_normal((n, channels)), -1.0, 1.0)
        else:
            raise ValueError(kind)
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, x.astype(np.float32), sr, subtype=subtype)
        return path

    return _write
