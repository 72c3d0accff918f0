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


def test_the_refiner_starts_at_zero_then_follows_the_query() -> None:
    from sfcli.postfilter import MaskRefiner

    g = torch.Generator().manual_seed(3)
    mix = torch.randn(2, 1, SR, generator=g)
    est = 0.5 * mix + 0.1 * torch.randn(2, 1, SR, generator=g)
    cond = torch.randn(2, 64, generator=g)
    torch.manual_seed(0)
    refiner = MaskRefiner(4, 64)
    plain = spectral_postfilter(mix, est)
    torch.testing.assert_close(spectral_postfilter(mix, est, refiner=refiner, cond=cond), plain)
    with torch.no_grad():
        for layer in (refiner.out, refiner.film):
            layer.weight.normal_(0, 0.3, generator=g)
    refined = spectral_postfilter(mix, est, refiner=refiner, cond=cond)
    assert (refined - plain).abs().mean() > 1e-3
    swapped = spectral_postfilter(mix, est, refiner=refiner, cond=cond.flip(0))
    assert (swapped - refined).abs().mean() > 1e-4  # the correction depends on the query
    refined.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in refiner.parameters())
    with pytest.raises(ValueError, match="query vector"):
        spectral_postfilter(mix, est, refiner=refiner)


def test_separator_takes_the_postfilter_settings_from_the_model(tmp_path, make_tiny_models) -> None:
    from sfcli import Separator

    make_tiny_models(tmp_path / "p3", postfilter_power=3.0, postfilter_fft=1024)
    make_tiny_models(tmp_path / "none", postfilter_fft=0)
    x = (0.1 * np.random.default_rng(0).standard_normal((1, 2 * SR))).astype(np.float32)
    for name, fft, power in [("p3", 1024, 3.0), ("none", 0, None)]:
        sep = Separator.from_pretrained(tmp_path / name)
        emb = sep.embed_query(text="owl hooting")
        raw = Separator.from_pretrained(tmp_path / name, postfilter=False).window_fn(emb)(x)
        got = sep.window_fn(emb)(x)
        if fft:
            want = spectral_postfilter(torch.from_numpy(x), torch.from_numpy(raw), fft, power).numpy()
            np.testing.assert_allclose(got, want, atol=1e-5)
            # An explicit setting still overrides the model's.
            other = Separator.from_pretrained(tmp_path / name, postfilter_power=1.0).window_fn(emb)(x)
            assert np.abs(other - got).mean() > 1e-4
        else:
            np.testing.assert_array_equal(got, raw)


def test_separator_applies_the_models_refiner(tmp_path, make_tiny_models) -> None:
    from sfcli import Separator

    make_tiny_models(tmp_path / "r", refiner_channels=4)
    sep = Separator.from_pretrained(tmp_path / "r")
    assert sep.filter.refiner is not None
    emb = sep.embed_query(text="owl hooting")
    x = (0.1 * np.random.default_rng(1).standard_normal((1, 2 * SR))).astype(np.float32)
    raw = Separator.from_pretrained(tmp_path / "r", postfilter=False).window_fn(emb)(x)
    fixed = spectral_postfilter(torch.from_numpy(x), torch.from_numpy(raw)).numpy()
    cond = torch.from_numpy(emb).reshape(1, -1)
    with torch.no_grad():
        want = spectral_postfilter(torch.from_numpy(x), torch.from_numpy(raw), refiner=sep.filter.refiner, cond=cond)
    np.testing.assert_allclose(sep.window_fn(emb)(x), want.numpy(), atol=1e-5)
    assert np.abs(want.numpy() - fixed).mean() > 1e-5
