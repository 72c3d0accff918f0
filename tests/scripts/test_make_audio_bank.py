"""scripts/make_audio_bank.py: bank rows from a train-words feature cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from sfcli.train.common import save_checkpoint
from sfcli.train.words import backbone_fingerprint
from sfcli.words import SoundWords
from tests.script_module import script_module


def _module() -> Any:
    return script_module("scripts/make_audio_bank.py")


def test_bank_rows_from_the_feature_cache(tmp_path: Path) -> None:
    words = SoundWords.tiny(seed=0)
    dim = words.config.audio_feature_dim
    feats = {"a": torch.randn(3, dim).half(), "b": torch.randn(1, dim).half(), "c": torch.randn(2, dim).half()}
    path = tmp_path / "features.pt"
    save_checkpoint(path, {"fingerprint": backbone_fingerprint(words, "aisfx"), "features": feats})
    rows = _module()._from_features(words, ["c", "a"], path)
    with torch.no_grad():
        ref = words.embed_window_features([feats["c"].float(), feats["a"].float()]).numpy()
    assert rows.shape == (2, words.config.embed_dim)
    torch.testing.assert_close(torch.from_numpy(rows), torch.from_numpy(ref))
    with pytest.raises(SystemExit, match="not in the cache"):
        _module()._from_features(words, ["a", "zzz"], path)
    save_checkpoint(path, {"fingerprint": "another backbone", "features": feats})
    with pytest.raises(SystemExit, match="another backbone"):
        _module()._from_features(words, ["a"], path)
