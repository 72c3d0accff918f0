"""The SoundWords model: both towers and heads, the folder format, text and audio embedding."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
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
from sfcli.words.audio_tower import LogMelCNN, LogMelFrontend, TinyCNN, load_aisfx_state
from sfcli.words.bank import AudioBank
from sfcli.words.config import MODEL_NAME, TEXT_CACHE_TEXTS, TEXT_CACHE_WEIGHTS, SoundWordsConfig
from sfcli.words.heads import projection_head
from sfcli.words.text_tower import HashingEncoder, MiniLMEncoder


class SoundWords(nn.Module):
    """Joint text/audio embedding model.

    Typical use::

        sw = SoundWords.from_pretrained()          # models/soundwords, offline
        t = sw.embed_text(["owl hooting"])         # (1, 64) float32, unit rows
        a = sw.embed_audio([clip], 16000)          # (1, 64)
        (t @ a.T)                                  # cosine similarity

    The saved state holds the audio CNN, both projection heads and the temperature; the frozen text
    backbone is loaded from its wheel on first use. It implements :class:`sfcli.embedder.Embedder`, what
    the separator, the query check and the trainers take.
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
        self.text_head = projection_head(
            config.text_feature_dim, config.embed_dim, config.text_head_hidden, config.head_dropout, config.head_norm
        )
        self.audio_head = projection_head(
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
