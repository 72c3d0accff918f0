"""The spectral signature of a query clip and the conditioning vector built from it."""

from __future__ import annotations

import numpy as np
import pytest

from sfcli.signature import BANDS, SIGNATURE_DIM, band_levels, conditioning, signature


def _tone(hz: float, seconds: float = 1.0, sr: int = 16000) -> np.ndarray:
    return np.sin(2 * np.pi * hz * np.arange(round(seconds * sr)) / sr).astype(np.float32)


def test_gain_does_not_change_the_signature() -> None:
    x = (0.1 * np.random.default_rng(0).standard_normal(24000)).astype(np.float32)
    np.testing.assert_allclose(signature(x), signature(0.01 * x), atol=1e-4)
    assert signature(x).shape == (SIGNATURE_DIM,) and signature(x).dtype == np.float32


def test_the_shape_half_puts_a_tone_in_its_band() -> None:
    low, high = signature(_tone(300.0))[:BANDS], signature(_tone(3000.0))[:BANDS]
    assert np.argmax(low) < np.argmax(high)
    assert abs(float(low.mean())) < 1e-5  # levels relative to the clip's mean band level


def test_the_spread_half_tells_clicks_from_a_steady_sound() -> None:
    steady = (0.1 * np.random.default_rng(1).standard_normal(16000)).astype(np.float32)
    clicks = np.zeros(16000, np.float32)
    clicks[::4000] = 1.0
    clicks[:800] += 0.001 * steady[:800]  # one quiet stretch: levels vary a lot over time
    assert signature(clicks)[BANDS:].mean() > 2 * signature(steady)[BANDS:].mean()


def test_silence_and_short_clips() -> None:
    assert not signature(np.zeros(8000, np.float32)).any()
    assert signature(np.ones(10, np.float32)).shape == (SIGNATURE_DIM,)
    assert band_levels(np.zeros(0, np.float32)).shape == (1, BANDS)


def test_other_rates_and_channels_are_resampled_and_mixed() -> None:
    a = signature(_tone(1000.0, sr=16000), 16000)
    b = signature(np.stack([_tone(1000.0, sr=44100)] * 2), 44100)
    np.testing.assert_allclose(a[:BANDS], b[:BANDS], atol=0.05)
    with pytest.raises(ValueError, match="shape"):
        signature(np.zeros((2, 2, 10), np.float32))


def test_conditioning_appends_the_signature_or_zeros() -> None:
    emb = np.arange(64, dtype=np.float32)
    assert conditioning(emb, None, 64, 0) is not None and conditioning(emb, None, 64, 0).shape == (64,)
    full = conditioning(emb, None, 64, SIGNATURE_DIM)
    assert full.shape == (64 + SIGNATURE_DIM,) and not full[64:].any()
    sig = np.ones(SIGNATURE_DIM, np.float32)
    np.testing.assert_array_equal(conditioning(emb, sig, 64, SIGNATURE_DIM)[64:], sig)
    np.testing.assert_array_equal(conditioning(full, sig, 64, SIGNATURE_DIM), full)  # already whole
    with pytest.raises(ValueError, match="does not fit"):
        conditioning(np.zeros(10, np.float32), None, 64, SIGNATURE_DIM)
    with pytest.raises(ValueError, match="does not fit"):
        conditioning(emb, np.zeros(3, np.float32), 64, SIGNATURE_DIM)
