"""sfcli.data.procedural: every family renders finite, bounded, deterministic audio; a second take
with the same parameters sounds like the first."""

from __future__ import annotations

import numpy as np
import pytest

from sfcli.data.procedural import FAMILIES, procedural_pair, procedural_sound


def _log_spectrum(x: np.ndarray) -> np.ndarray:
    frames = x[: x.size // 512 * 512].reshape(-1, 512) * np.hanning(512)
    return np.log10(np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0) + 1e-10)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_is_bounded_audible_and_deterministic(family: str) -> None:
    x, fam, params = procedural_sound(np.random.default_rng(5), 24000, family=family)
    assert fam == family and x.shape == (24000,) and x.dtype == np.float32
    assert np.isfinite(x).all() and float(np.max(np.abs(x))) <= 0.99 + 1e-6
    assert float(np.sqrt(np.mean(x**2))) > 1e-3
    y, _, _ = procedural_sound(np.random.default_rng(5), 24000, family=family)
    np.testing.assert_array_equal(x, y)
    other, _, _ = procedural_sound(np.random.default_rng(6), 24000, family=family, params=params)
    assert not np.array_equal(x, other)  # another take: the same parameters, a new realisation


def test_another_take_is_spectrally_closer_than_another_sound() -> None:
    wins = total = 0
    for family in FAMILIES:
        for seed in range(4):
            rng = np.random.default_rng(seed)
            a, _, params = procedural_sound(rng, 32000, family=family)
            take, _, _ = procedural_sound(rng, 32000, family=family, params=params)
            other, _, _ = procedural_sound(rng, 32000, family=family)
            sa, st, so = _log_spectrum(a), _log_spectrum(take), _log_spectrum(other)
            wins += np.corrcoef(sa, st)[0, 1] > np.corrcoef(sa, so)[0, 1]
            total += 1
    assert wins >= 0.85 * total, (wins, total)


def test_pairs_are_disjoint_stretches_or_new_takes() -> None:
    target, query, family = procedural_pair(np.random.default_rng(1), 16000)
    assert family in FAMILIES and target.shape == query.shape == (16000,)
    assert not np.array_equal(target, query)
    again = procedural_pair(np.random.default_rng(1), 16000)
    np.testing.assert_array_equal(again[1], query)
    take = procedural_pair(np.random.default_rng(1), 16000, other_take=1.0)
    np.testing.assert_array_equal(take[0], target)  # the target does not depend on the query's kind
    assert take[2] == family and not np.array_equal(take[1], query)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown procedural family"):
        procedural_sound(np.random.default_rng(0), 100, family="thunder")
    with pytest.raises(ValueError, match="positive"):
        procedural_sound(np.random.default_rng(0), 0)


def test_impacts_in_a_regular_rhythm_strike_once_per_period() -> None:
    rng = np.random.default_rng(2)
    _, _, params = procedural_sound(rng, 100, family="impacts")
    params.update(rhythm="regular", rate=4.0, jitter=0.0, noise_mix=1.0, burst=0.002)  # the bursts alone
    x, _, _ = procedural_sound(rng, 32000, family="impacts", params=params)
    active = np.abs(x - x.mean()) > 1e-3
    onsets = np.flatnonzero(active[1:] & ~active[:-1]) + 1
    gaps = np.diff(onsets)
    assert 6 <= onsets.size <= 9 and np.all(np.abs(gaps - 4000) <= 40), onsets  # one hit every 0.25 s


def test_every_family_renders_without_scipy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Separation's --adapt draws its backgrounds here, and scipy is only in the training extras."""
    import sys

    for name in [m for m in sys.modules if m == "scipy" or m.startswith("scipy.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "scipy", None)  # any import of scipy now fails
    rng = np.random.default_rng(0)
    for family in FAMILIES:
        x, _, _ = procedural_sound(rng, 4000, 16000, family)
        assert np.isfinite(x).all() and np.abs(x).max() > 0


def test_the_fft_helpers_match_direct_convolution_and_a_band_pass() -> None:
    from sfcli.data.procedural import _bandpass, _convolve

    rng = np.random.default_rng(1)
    x, h = rng.normal(size=300), rng.normal(size=40)
    np.testing.assert_allclose(_convolve(x, h, 300), np.convolve(x, h)[:300], atol=1e-9)
    noise = rng.normal(size=16000)
    spec = np.abs(np.fft.rfft(_bandpass(noise, 500.0, 2000.0, 16000))) / np.abs(np.fft.rfft(noise))
    f = np.fft.rfftfreq(16000, 1 / 16000)
    assert np.allclose(spec[(f > 900) & (f < 1100)], 1.0, atol=0.02)  # the pass band
    assert spec[f < 100].max() < 0.05 and spec[f > 6000].max() < 0.1  # well below and above it
