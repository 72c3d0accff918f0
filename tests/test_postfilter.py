"""The spectral post-filter: masks from the network's own estimates, on a fine STFT grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sfcli.metrics import si_sdr_np
from sfcli.postfilter import spectral_postfilter

SR = 16000


def _tones(freqs: list[float], n: int = 2 * SR) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64) / SR
    return sum(torch.sin(2 * torch.pi * f * t + i) for i, f in enumerate(freqs)).float() / len(freqs)


def test_removes_artefacts_that_the_mixture_does_not_contain() -> None:
    # The output is a mask of the mixture, so broadband noise that the network added to its estimate
    # (and subtracted from the residual) is gone wherever the mixture itself has no energy.
    s1, s2 = _tones([440.0, 880.0, 1320.0]), _tones([500.0, 940.0, 1360.0])
    noise = torch.randn(s1.shape, generator=torch.Generator().manual_seed(0))
    est = s1 + 0.1 * noise
    out = spectral_postfilter(s1 + s2, est)
    before = si_sdr_np(est.numpy(), s1.numpy())
    after = si_sdr_np(out.numpy(), s1.numpy())
    assert after > before + 10.0, (before, after)


def test_an_exponent_above_one_shrinks_leakage_on_a_fine_grid() -> None:
    # Target and interferer lie 40-60 Hz apart: one channel of SoundFilter's filterbank, but many
    # bins of the 2048-point STFT. Uniform 30 % leakage: p = 1 keeps it, p > 1 shrinks it.
    s1, s2 = _tones([440.0, 880.0, 1320.0]), _tones([500.0, 940.0, 1360.0])
    est = s1 + 0.3 * s2
    scores = {p: si_sdr_np(spectral_postfilter(s1 + s2, est, power=p).numpy(), s1.numpy()) for p in (1.0, 2.0)}
    before = si_sdr_np(est.numpy(), s1.numpy())
    assert abs(scores[1.0] - before) < 0.5 and scores[2.0] > before + 3.0, (before, scores)


def test_a_target_equal_to_the_mixture_or_silent_is_kept() -> None:
    mix = 0.1 * torch.randn(3, SR, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(spectral_postfilter(mix, mix.clone()), mix, atol=1e-5, rtol=0)
    assert spectral_postfilter(mix, torch.zeros_like(mix)).abs().max() < 1e-6


def test_outputs_still_sum_to_the_mixture_with_the_complement() -> None:
    g = torch.Generator().manual_seed(1)
    mix = torch.randn(2, SR, generator=g)
    est = 0.5 * mix + 0.2 * torch.randn(2, SR, generator=g)
    out = spectral_postfilter(mix, est, power=1.25)
    # The complementary mask applied to the mixture is exactly mixture - out.
    other = spectral_postfilter(mix, mix - est, power=1.25)
    torch.testing.assert_close(out + other, mix, atol=1e-4, rtol=0)


@pytest.mark.parametrize("shape", [(SR,), (2, 3, 5000), (1, 700)])
def test_shapes_dtype_and_short_inputs(shape: tuple[int, ...]) -> None:
    g = torch.Generator().manual_seed(2)
    mix = torch.randn(*shape, generator=g)
    est = 0.5 * mix
    out = spectral_postfilter(mix, est)
    assert out.shape == mix.shape and out.dtype == est.dtype
    tiny = torch.randn(40, generator=g)
    torch.testing.assert_close(spectral_postfilter(tiny, 0.5 * tiny), 0.5 * tiny)  # too short: unchanged


def test_mismatched_shapes_and_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="shape"):
        spectral_postfilter(torch.zeros(100), torch.zeros(99))
    with pytest.raises(ValueError):
        spectral_postfilter(torch.zeros(100), torch.zeros(100), power=0)


def test_separator_applies_it_to_each_window(tiny_models) -> None:
    from sfcli import Separator

    on = Separator.from_pretrained(tiny_models)
    off = Separator.from_pretrained(tiny_models, postfilter=False)
    emb = on.embed_query(text="owl hooting")
    x = (0.1 * np.random.default_rng(0).standard_normal((1, 2 * SR))).astype(np.float32)
    raw = off.window_fn(emb)(x)
    want = spectral_postfilter(torch.from_numpy(x), torch.from_numpy(raw)).numpy()
    np.testing.assert_allclose(on.window_fn(emb)(x), want, atol=1e-5)
    assert np.abs(want - raw).mean() > 1e-4
