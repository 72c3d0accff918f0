"""Tests for sfcli.outputs: writing and committing a separation's two outputs."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sfcli.audio import AtomicAudioWriter
from sfcli.outputs import commit_pair, write_pairs
from sfcli.sample_format import PairQuantizer


class _Sampler:
    def __init__(self) -> None:
        self.mixtures: list[np.ndarray] = []

    def add(self, target: np.ndarray, mixture: np.ndarray) -> None:
        self.mixtures.append(mixture)


def _writers(tmp_path, subtype: str = "PCM_16") -> list[AtomicAudioWriter]:
    return [AtomicAudioWriter(tmp_path / f"{n}.wav", 8000, 1, subtype=subtype) for n in ("target", "residual")]


def test_write_pairs_quantises_feeds_the_sampler_and_reports_progress(tmp_path) -> None:
    rng = np.random.default_rng(0)
    targets = [0.3 * rng.standard_normal((1, n)).astype(np.float32) for n in (100, 50)]
    blocks = [(t, 0.5 * t) for t in targets]
    writers, sampler, calls = _writers(tmp_path), _Sampler(), []
    write_pairs(blocks, writers, PairQuantizer("PCM_16"), sampler, lambda d, n: calls.append((d, n)), 150)
    commit_pair(writers, tmp_path / "target.wav")
    assert calls == [(100, 150), (150, 150)]
    np.testing.assert_allclose(np.concatenate(sampler.mixtures, axis=1), np.concatenate([t + r for t, r in blocks], 1))
    t, _ = sf.read(tmp_path / "target.wav", dtype="float32")
    np.testing.assert_allclose(t, np.concatenate(targets, axis=1)[0], atol=1 / 32768)


def test_commit_pair_leaves_neither_output_when_the_residual_fails(tmp_path) -> None:
    writers = _writers(tmp_path, "FLOAT")
    write_pairs([(np.zeros((1, 10), np.float32),) * 2], writers, PairQuantizer("FLOAT"), None, None, 10)
    (tmp_path / "residual.wav").write_bytes(b"appeared meanwhile")  # commit refuses without force
    with pytest.raises(Exception, match="appeared while writing"):
        commit_pair(writers, tmp_path / "target.wav")
    assert not (tmp_path / "target.wav").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["residual.wav"]
