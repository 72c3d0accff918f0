"""scripts/make_pool_embeddings.py: one SoundWords row per pool clip, read back by sfcli.data.pool."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sfcli.data.pool import open_pool, pool_embeddings
from sfcli.words import SoundWords
from tests.data.test_pool import _noise, write_pool
from tests.script_module import script_module


def _module() -> Any:
    return script_module("scripts/make_pool_embeddings.py")


def test_rows_are_the_clips_embeddings_in_pool_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_pool(tmp_path / "pool", [(_noise(0.5 + i, i), "sfx") for i in range(5)])
    words = SoundWords.tiny(seed=0)
    mod = _module()
    monkeypatch.setattr(mod.SoundWords, "from_pretrained", classmethod(lambda cls, *a, **k: words))
    monkeypatch.setattr(sys, "argv", ["x", "--pool", str(root), "--batch", "2", "--seconds", "1.0"])
    mod.main()
    pool = open_pool(root)
    assert pool is not None
    clips = pool.split("train")
    rows = pool_embeddings(root, clips)
    ref = words.embed_audio([pool.audio(c)[:16000] for c in clips], pool.sample_rate)
    assert rows.shape == (5, words.config.embed_dim)
    np.testing.assert_allclose(rows, ref, atol=2e-3, rtol=2e-3)  # stored as float16
    assert not list(root.glob("*.tmp"))


def test_no_pool_is_a_one_line_exit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["x", "--pool", str(tmp_path / "none")])
    with pytest.raises(SystemExit, match="no label-free pool"):
        _module().main()
