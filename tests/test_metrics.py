"""metrics: numpy SI-SDR against torch and closed forms, SI-SDRi, the ideal-ratio-mask oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sfcli.losses import si_sdr
from sfcli.metrics import ideal_ratio_mask_separation, si_sdr_np, si_sdri_np


def test_si_sdr_np_matches_torch_and_a_closed_form() -> None:
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(4000)
    est = 0.5 * ref + 0.2 * rng.standard_normal(4000)
    want = float(si_sdr(torch.from_numpy(est)[None], torch.from_numpy(ref)[None])[0])
    assert si_sdr_np(est, ref) == pytest.approx(want, abs=1e-6)
    # Orthogonal error of known energy: exactly 10 log10(|ref|² / |err|²).
    t = np.arange(1600) / 16000
    ref = np.sin(2 * np.pi * 500 * t)
    err = 0.1 * np.sin(2 * np.pi * 1500 * t)
    assert si_sdr_np(ref + err, ref) == pytest.approx(10 * np.log10((ref @ ref) / (err @ err)), abs=1e-3)
    assert si_sdr_np(ref, ref) > 70


def test_si_sdri_of_the_mixture_is_zero_and_of_the_target_is_positive() -> None:
    rng = np.random.default_rng(1)
    s, n = rng.standard_normal(1000), rng.standard_normal(1000)
    assert si_sdri_np(s + n, s, s + n) == pytest.approx(0.0, abs=1e-9)
    assert si_sdri_np(s + 0.01 * n, s, s + n) > 30


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError):
        si_sdr_np(np.zeros(10), np.zeros(11))
    with pytest.raises(ValueError):
        si_sdr_np(np.zeros((2, 10)), np.zeros((2, 10)))


def test_ideal_ratio_mask_separates_disjoint_spectra() -> None:
    sr = 16000
    t = np.arange(sr) / sr
    a = np.sin(2 * np.pi * 300 * t).astype(np.float32)
    b = (0.8 * np.sin(2 * np.pi * 3100 * t)).astype(np.float32)
    est_a, est_b = ideal_ratio_mask_separation(a, b)
    assert est_a.shape == a.shape and est_a.dtype == np.float32
    assert si_sdri_np(est_a, a, a + b) > 15
    assert si_sdri_np(est_b, b, a + b) > 15
    # The two outputs add back up to the mixture (mask + (1 - mask) = 1, same phase).
    np.testing.assert_allclose(est_a + est_b, a + b, atol=1e-4)


def test_ideal_ratio_mask_is_bounded_for_overlapping_noise() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(8000), rng.standard_normal(8000)
    est_a, _ = ideal_ratio_mask_separation(a, b)
    gain = si_sdri_np(est_a, a, a + b)
    assert 0 < gain < 15
