"""Tests of sfcli.train.words_data's manifest reader."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from sfcli.train.words_data import manifest_sources


def _manifest(folder: Path) -> Path:
    (folder / "audio").mkdir(parents=True)
    sf.write(folder / "audio" / "a.wav", np.zeros(1600, dtype=np.float32), 16000)
    manifest = folder / "m.jsonl"
    manifest.write_text(json.dumps({"audio": "audio/a.wav", "text": "a dog barking", "category": "dog"}) + "\n")
    return manifest


def test_manifest_audio_resolves_against_a_relative_manifest_path(tmp_path: Path, monkeypatch) -> None:
    _manifest(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    (source,) = manifest_sources(Path("data") / "m.jsonl")
    x, sr = source.load()
    assert sr == 16000 and x.shape == (1600,)
    assert source.category == "dog"


def test_manifest_audio_resolves_against_an_absolute_manifest_path(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "data")
    (source,) = manifest_sources(Path(os.path.abspath(manifest)))
    assert source.load()[0].shape == (1600,)
