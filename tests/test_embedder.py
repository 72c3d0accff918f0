"""The one embedder protocol: SoundWords implements it, and the old names point to it."""

from __future__ import annotations

import inspect

import numpy as np

from sfcli.embedder import Embedder
from sfcli.words import SoundWords

MEMBERS = ("embed_text", "text_query", "embed_audio", "text_features", "audio_windows", "embed_windows")


def test_soundwords_has_every_member_with_the_protocol_signature() -> None:
    words = SoundWords.tiny(seed=0)
    assert hasattr(words, "config")
    for name in MEMBERS:
        want = list(inspect.signature(getattr(Embedder, name)).parameters)[1:]
        assert list(inspect.signature(getattr(words, name)).parameters) == want, name


def test_the_former_protocol_names_are_the_one_protocol() -> None:
    from sfcli.api import Embedder as api_embedder
    from sfcli.query_check import CheckableWords
    from sfcli.train.conditioning import Embedder as train_embedder

    assert api_embedder is train_embedder is CheckableWords is Embedder


def test_text_query_without_expansion_is_the_text_embedding() -> None:
    words = SoundWords.tiny(seed=0)
    texts = ["owl hooting", "a dog barking"]
    np.testing.assert_array_equal(words.text_query(texts, expand=False), words.embed_text(texts))
