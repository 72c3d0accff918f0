"""Frozen-backbone feature caches of ``sfcli train-words``: audio features of up to ``max_windows``
windows per clip (``features.pt``) and text-backbone features (``text_features.pt``), computed once and
reused by every later run whose backbone fingerprint matches."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from sfcli.train.common import DistInfo, load_checkpoint, save_checkpoint
from sfcli.train.loop import Reporter
from sfcli.train.words_data import PairSource
from sfcli.words import SoundWords
from sfcli.words_eval import category_prompt


def spread(k: int, m: int) -> list[int]:
    """Indices of at most ``m`` of ``k`` windows, evenly spread from the first to the last (all of them
    when ``k <= m``; the middle one when ``m`` is 1)."""
    if k <= m:
        return list(range(k))
    return sorted({round(i * (k - 1) / (m - 1)) for i in range(m)}) if m > 1 else [k // 2]


def backbone_fingerprint(model: SoundWords, init_audio: str) -> str:
    """A JSON string of every setting that changes the cached audio features (backbone, front end,
    windows, pooling and the audio initialisation); caches of another fingerprint are recomputed."""
    cfg = model.config
    parts = [cfg.audio_backbone, cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.n_mels, cfg.f_min, cfg.f_max]
    parts += [cfg.window_frames, cfg.window_hop_frames, cfg.peak_normalize, init_audio, cfg.tiny_channels, "eval-bn"]
    if cfg.audio_pool != "max":  # "max" fingerprints stay as they were before pooling became a setting
        parts.append(cfg.audio_pool)
    return json.dumps(parts)


def extract_audio_features(
    model: SoundWords,
    sources: Sequence[PairSource],
    cache_path: Path,
    *,
    max_windows: int,
    fingerprint: str,
    report: Callable[[int, int], None] | None = None,
) -> dict[str, torch.Tensor]:
    """Frozen-backbone features of up to ``max_windows`` windows per clip, cached (float16) on disk."""
    blob = load_checkpoint(cache_path) or {}
    feats: dict[str, torch.Tensor] = blob.get("features", {}) if blob.get("fingerprint") == fingerprint else {}
    todo = [s for s in sources if s.key not in feats]
    last_save = time.monotonic()
    was_training = model.training
    model.eval()  # BatchNorm must use its running statistics, exactly as at inference
    try:
        _extract(model, todo, feats, cache_path, max_windows, fingerprint, report, last_save)
    finally:
        model.train(was_training)
    return feats


def _extract(
    model: SoundWords,
    todo: Sequence[PairSource],
    feats: dict[str, torch.Tensor],
    cache_path: Path,
    max_windows: int,
    fingerprint: str,
    report: Callable[[int, int], None] | None,
    last_save: float,
) -> None:
    for i, s in enumerate(todo):
        clip, sr = s.load()
        prepared = model.prepare_audio(clip, sr)
        wins = model.windows(prepared)
        wins = wins[spread(wins.shape[0], max_windows)]
        with torch.no_grad():
            f = model.audio_features(torch.from_numpy(wins).to(model.device)).float().cpu()
        feats[s.key] = f.to(torch.float16)
        if time.monotonic() - last_save > 60:
            save_checkpoint(cache_path, {"fingerprint": fingerprint, "features": feats})
            last_save = time.monotonic()
            if report is not None:
                report(i + 1, len(todo))
    if todo:
        save_checkpoint(cache_path, {"fingerprint": fingerprint, "features": feats})


def cache_text_features(model: SoundWords, texts: Sequence[str], cache_path: Path) -> None:
    """Fill ``model.text_cache`` for ``texts``, reusing and extending the on-disk cache."""
    blob = load_checkpoint(cache_path) or {}
    if blob.get("backbone") == [model.config.text_backbone, model.config.hashing_dim]:
        model.text_cache.update(blob["features"])
    missing = [t for t in dict.fromkeys(texts) if t not in model.text_cache]
    if missing:
        model.text_features(missing)
        save_checkpoint(
            cache_path,
            {"backbone": [model.config.text_backbone, model.config.hashing_dim], "features": model.text_cache},
        )


def cache_features(
    model: SoundWords,
    clips: Sequence[PairSource],
    cache_dir: Path,
    *,
    max_windows: int,
    init_audio: str,
    info: DistInfo,
    reporter: Reporter,
) -> dict[str, torch.Tensor]:
    """Audio features of ``clips`` and text features of their descriptions and category prompts (into
    ``model.text_cache``): the main process computes and caches them, the others wait and read them."""
    fingerprint = backbone_fingerprint(model, init_audio)
    feat_path = cache_dir / "features.pt"
    feats: dict[str, Any] = {}
    if info.is_main:
        reporter.note(f"caching audio features of {len(clips)} clips in {feat_path}")
        feats = extract_audio_features(
            model,
            clips,
            feat_path,
            max_windows=max_windows,
            fingerprint=fingerprint,
            report=lambda i, n: reporter.note(f"  features: {i}/{n} clips"),
        )
        texts = [d for s in clips for d in s.descriptions]
        texts += [category_prompt(s.category) for s in clips if s.category]
        cache_text_features(model, texts, cache_dir / "text_features.pt")
    if info.enabled:
        dist.barrier()
    if not info.is_main:
        feats = extract_audio_features(model, clips, feat_path, max_windows=max_windows, fingerprint=fingerprint)
        cache_text_features(model, [], cache_dir / "text_features.pt")
    return feats
