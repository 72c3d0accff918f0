"""sfcli.data.augment: each effect keeps length and finiteness; the mixture stays target + background."""

from __future__ import annotations

import numpy as np
import pytest

from sfcli.data.augment import (
    AugmentConfig,
    Augmenter,
    bandlimit,
    change_speed,
    colour,
    opus_roundtrip,
    reverberate,
    rir_bank,
)

SR = 16000


@pytest.fixture(scope="module")
def rirs() -> list[np.ndarray]:
    return rir_bank(seed=0, n=4, sample_rate=SR)


def _signal(seed: int = 0, n: int = 32000) -> np.ndarray:
    t = np.arange(n) / SR
    noise = np.random.default_rng(seed).standard_normal(n)
    return (0.1 * np.sin(2 * np.pi * 440 * t) + 0.02 * noise).astype(np.float32)


def test_rir_bank_is_deterministic_and_cached(tmp_path, rirs) -> None:
    again = rir_bank(seed=0, n=4, sample_rate=SR, cache_dir=tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(rirs, again, strict=True))
    assert list(tmp_path.glob("rirs-*.npz"))
    cached = rir_bank(seed=0, n=4, sample_rate=SR, cache_dir=tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(rirs, cached, strict=True))
    for r in rirs:
        assert abs(float(np.sum(r.astype(np.float64) ** 2)) - 1.0) < 1e-3
        assert int(np.argmax(np.abs(r))) == 0  # direct path first


def test_reverb_adds_a_tail_and_keeps_energy(rirs) -> None:
    x = np.zeros(16000, np.float32)
    x[:800] = _signal()[:800]
    y = reverberate(x, rirs[0])
    assert y.shape == x.shape
    assert np.sum(y[4000:] ** 2) > 1e3 * np.sum(x[4000:] ** 2) + 1e-9  # energy after the dry burst ended
    assert abs(np.sum(y**2) / np.sum(x**2) - 1) < 1e-3


@pytest.mark.parametrize("fn", ["colour", "bandlimit", "speed", "opus"])
def test_effects_keep_length_and_change_the_sound(fn: str) -> None:
    x, rng = _signal(), np.random.default_rng(3)
    y = {
        "colour": lambda: colour(x, rng, SR, 6.0, 9.0),
        "bandlimit": lambda: bandlimit(x, rng, SR),
        "speed": lambda: change_speed(x, 1.08, SR),
        "opus": lambda: opus_roundtrip(x, rng, SR),
    }[fn]()
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    assert not np.allclose(x, y, atol=1e-3)


def test_opus_keeps_alignment() -> None:
    x = _signal()
    y = opus_roundtrip(x, np.random.default_rng(0), SR)
    lag = int(np.argmax(np.correlate(y[1000:3000], x[1000:3000], "full"))) - 1999
    assert lag == 0
    assert 10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2)) > 8


def test_mixture_is_exactly_target_plus_background_with_every_effect(rirs) -> None:
    aug = Augmenter(AugmentConfig(reverb=1, eq=1, bandlimit=1, speed=1, codec=1), SR, rirs)
    rng = np.random.default_rng(0)
    for k in range(6):
        t, b = aug.source(_signal(k), rng), aug.source(_signal(k + 10)[::-1].copy(), rng)
        mix, t2, b2 = aug.mixture(t, b, rng)
        assert np.array_equal(mix, t2 + b2)
        assert np.array_equal(t, t2)  # the codec's artefacts go to the background


def test_off_changes_nothing_and_is_deterministic(rirs) -> None:
    off = Augmenter(AugmentConfig.off(), SR, rirs)
    x = _signal()
    assert not off.enabled
    assert np.array_equal(off.source(x, np.random.default_rng(0)), x)
    on = Augmenter(AugmentConfig.scaled(1.0), SR, rirs)
    a = on.source(x, np.random.default_rng(5))
    b = on.source(x, np.random.default_rng(5))
    assert np.array_equal(a, b)
    assert AugmentConfig.scaled(10.0).reverb == 1.0
