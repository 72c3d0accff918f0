"""sfcli.dsp: the STFT pairs invert, windows and helpers match their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sfcli import dsp


def test_hann_windows() -> None:
    np.testing.assert_allclose(dsp.hann(512), torch.hann_window(512, dtype=torch.float64).numpy(), atol=1e-12)
    np.testing.assert_array_equal(dsp.hann(512, periodic=False), np.hanning(512))


@pytest.mark.parametrize(("n_fft", "hop"), [(1024, 256), (512, 128), (256, 64)])
def test_centred_stft_inverts(n_fft: int, hop: int) -> None:
    x = np.random.default_rng(0).standard_normal(5003)
    spec, total = dsp.centred_stft(x, n_fft, hop)
    assert spec.shape[1] == n_fft // 2 + 1 and total >= x.shape[0] + n_fft // 2
    np.testing.assert_allclose(dsp.centred_istft(spec, n_fft, hop, total, x.shape[0]), x, atol=1e-9)


@pytest.mark.parametrize("pad_mode", ["reflect", "constant"])
def test_torch_stft_inverts(pad_mode: str) -> None:
    x = torch.randn(2, 4000)
    win = torch.hann_window(512)
    spec = dsp.stft(x, 512, 128, win, pad_mode=pad_mode)
    assert spec.shape == (2, 257, 1 + 4000 // 128)
    if pad_mode == "reflect":
        torch.testing.assert_close(dsp.istft(spec, 512, 128, win, length=4000), x, atol=1e-5, rtol=0)


def test_power_and_log_magnitude() -> None:
    spec = torch.tensor([3 + 4j, 0j], dtype=torch.complex64, requires_grad=True)
    torch.testing.assert_close(dsp.power(spec), torch.tensor([25.0, 0.0]))
    log_mag = dsp.log_magnitude(spec)
    assert float(log_mag[0].detach()) == pytest.approx(np.log(5.0), abs=1e-6)
    log_mag.sum().backward()
    assert torch.isfinite(torch.view_as_real(spec.grad)).all()  # finite at zero


def test_log_power_spectrogram_finds_a_tone() -> None:
    sr, n_fft = 16000, 512
    x = np.sin(2 * np.pi * 1000 * np.arange(sr) / sr).astype(np.float32)
    spec = dsp.log_power_spectrogram(x, n_fft, 128)
    assert spec.shape == (n_fft // 2 + 1, 1 + (sr - n_fft) // 128)
    assert int(np.argmax(spec.mean(axis=1))) == round(1000 * n_fft / sr)
    assert dsp.log_power_spectrogram(x[:100], n_fft, 128).shape == (n_fft // 2 + 1, 1)  # padded to a frame


def test_mel_scale_round_trip_and_filters() -> None:
    hz = np.array([0.0, 440.0, 8000.0])
    np.testing.assert_allclose(dsp.mel_to_hz_htk(dsp.hz_to_mel_htk(hz)), hz, atol=1e-9)
    fb = dsp.mel_filterbank(16000, 512, 40, 0.0, 8000.0)
    assert fb.shape == (257, 40) and fb.dtype == np.float32
    np.testing.assert_allclose(fb.sum(axis=0), 1.0, atol=1e-5)
